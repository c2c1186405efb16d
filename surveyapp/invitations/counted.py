"""People invited by another channel (the study's own e-mail), and answers that came in without an invitation.

How these combine with the invitations surveykit sends, so that nobody is counted twice:

- **invited** in a department = invitations of that department sent by surveykit + the count recorded with
  ``surveykit surveys invited`` for it. A recorded count is of people who got *no* invitation from surveykit
  (the two are separate lists: keep an invitee either on the roster or in the count). Recording again
  replaces the survey's earlier counts; it never adds to them.
- **answered** = every stored response, once, however it came: through an invitation link, an open link, or
  an import. Per department, an answer through an invitation counts in the invitee's roster department; any
  other answer counts in the department it names in the instrument's ``department`` question (by option code
  or label), else under :data:`NO_DEPARTMENT`. In invitation mode the only answers without an invitation are
  imported ones, whose departments are totalled at import (:func:`count_imported`); in open mode every answer
  is without an invitation, so the stored answers are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exports.tabular.errors import TableError
from exports.tabular.reading import open_table
from instrument import Instrument, Question

from ..models import ImportedCount, InvitedCount, Response, Survey, answers_of

DEPARTMENT_QUESTION = "department"
NO_DEPARTMENT = "(department not known)"
MAX_INVITED = 10_000_000


class InvitedError(ValueError):
    """Counts that cannot be recorded; the message names file, line and column of every bad cell."""


@dataclass(frozen=True)
class Recorded:
    """The counts recorded for a survey: per department ("" for a count not split by department)."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def department_question(instrument: Instrument) -> Question | None:
    """Return the instrument's single-choice ``department`` question, or None when it has none."""
    try:
        question = instrument.question(DEPARTMENT_QUESTION)
    except KeyError:
        return None
    return question if question.type == "single_choice" else None


def read_invited(data: bytes, source: str, instrument: Instrument) -> dict[str, int]:
    """Read a CSV/XLSX of ``department,invited``; raise InvitedError listing every bad cell.

    When the instrument asks for the department, each name must be one of its options (code or label), so
    imported answers can be put in the right line.
    """
    question = department_question(instrument)
    errors: list[str] = []
    counts: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    header: dict[str, int] | None = None
    try:
        table = open_table(data, source)
        for line, cells in table.text_rows():
            if header is None:
                header = table.header(cells, line, ("department", "invited"))
                continue
            name = _cell(cells, header["department"])
            number = _cell(cells, header["invited"])
            if not name:
                errors.append(str(table.error("missing department", line, header["department"], "department")))
            elif len(name) > 120:
                errors.append(str(table.error("department longer than 120 characters", line,
                                              header["department"], "department")))
            elif question is not None and match_option(question, name) is None:
                known = ", ".join(f"{o.code} ({o.label})" for o in question.choices)
                errors.append(str(table.error(f"'{name}' is not a department of question '{question.id}' "
                                              f"(options: {known})", line, header["department"], "department")))
            elif first_seen.setdefault(same := _same(question, name), line) != line:
                errors.append(str(table.error(f"'{name}' again (first on line {first_seen[same]})",
                                              line, header["department"], "department")))
            if not number.isdigit() or int(number) > MAX_INVITED:
                errors.append(str(table.error(f"'{number}' is not a whole number of people from 0 to {MAX_INVITED}",
                                              line, header["invited"], "invited")))
            elif name and not errors:
                counts[name] = int(number)
    except TableError as exc:
        raise InvitedError(str(exc)) from None
    if header is None:
        raise InvitedError(f"{source}: the file is empty (expected a header row: department,invited)")
    if errors:
        raise InvitedError("\n".join(errors))
    if not counts:
        raise InvitedError(f"{source}: the file has a header but no departments")
    return counts


def _same(question: Question | None, name: str) -> str:
    """Return what makes two names one department: the option they mean, else the name in any case."""
    code = match_option(question, name) if question is not None else None
    return f"option {code}" if code is not None else name.casefold()


def _cell(cells: list[str], index: int) -> str:
    return cells[index] if index < len(cells) else ""


def match_option(question: Question, name: str) -> str | None:
    """Return the code of *question*'s option that *name* is (its code or its label, in any case), or None."""
    folded = name.strip().casefold()
    for option in question.choices:
        if folded in (option.code.casefold(), option.label.casefold()):
            return option.code
    return None


def record_invited(db: Session, survey: Survey, counts: dict[str, int]) -> None:
    """Replace the survey's recorded counts with *counts* (department "" for a count not split); not committed."""
    db.execute(delete(InvitedCount).where(InvitedCount.survey_slug == survey.slug))
    db.add_all(InvitedCount(survey_slug=survey.slug, department=d, invited=n) for d, n in counts.items())
    db.flush()


def recorded(db: Session, slug: str) -> Recorded:
    """Return the counts recorded for survey *slug* (empty when none)."""
    rows = db.execute(select(InvitedCount.department, InvitedCount.invited)
                      .where(InvitedCount.survey_slug == slug)).all()
    return Recorded({d: n for d, n in rows})


def count_imported(db: Session, survey: Survey, departments: Mapping[str, int]) -> None:
    """Add imported answers per department (option code, "" none) to the survey's totals; not committed."""
    for code, n in departments.items():
        if not n:
            continue
        row = db.get(ImportedCount, (survey.slug, code))
        if row is None:
            db.add(ImportedCount(survey_slug=survey.slug, department=code, answered=n))
        else:
            row.answered += n
    db.flush()


def answered_without_invitation(db: Session, survey: Survey, instrument: Instrument,
                                names: Iterable[str]) -> Counter[str]:
    """Return answers that came without an invitation per department name (see the module's rule).

    *names* are the department names already in the rates (roster and recorded), so an answer's option is
    counted under the name that means it; an option no name means gets its label.
    """
    question = department_question(instrument)
    by_code: Counter[str] = Counter()
    if survey.mode == "invitation":
        for code, n in db.execute(select(ImportedCount.department, ImportedCount.answered)
                                  .where(ImportedCount.survey_slug == survey.slug)).all():
            by_code[code] += n
    else:
        query = select(Response.answers).where(answers_of(survey.slug)) \
            .execution_options(yield_per=1000)
        for (answers,) in db.execute(query):
            value = answers.get(DEPARTMENT_QUESTION) if question is not None else None
            by_code[value if isinstance(value, str) else ""] += 1
    out: Counter[str] = Counter()
    known = list(names)
    for code, n in by_code.items():
        out[_name_of(question, code, known)] += n
    return out


def _name_of(question: Question | None, code: str, names: list[str]) -> str:
    if question is None or not code:
        return NO_DEPARTMENT
    for name in names:
        if name and match_option(question, name) == code:
            return name
    return question.label_of(code)
