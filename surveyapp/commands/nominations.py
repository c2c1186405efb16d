"""`surveykit nominations tally`: a nomination survey's nominees per department, after the spellings are reviewed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exports.nominations import (
    DepartmentTally,
    NominationError,
    parse_merge,
    read_merge_file,
    resolve,
    tally,
    write_tally_csv,
    write_tally_workbook,
)
from instrument import Instrument, Question

from ..db import get_session
from ..exporting import stream_answers
from ..invitations.roster import RosterError, read_roster
from ..models import Invitation, Survey
from ..surveys import instrument_of

group = AppGroup("nominations", help="Tally a nomination survey.")
ALL = "all respondents"


def _name_questions(instrument: Instrument, wanted: tuple[str, ...]) -> list[Question]:
    if wanted:
        found = []
        for qid in wanted:
            try:
                q = instrument.question(qid)
            except KeyError:
                raise click.ClickException(f"--question {qid}: no such question in '{instrument.id}'") from None
            if q.type != "text":
                raise click.ClickException(f"--question {qid}: a {q.type} question; names are text questions")
            found.append(q)
        return found
    found = [q for q in instrument.questions if q.type == "text" and q.id.startswith("nominee")]
    if not found:
        raise click.ClickException(f"'{instrument.id}' has no text question named nominee*: name the questions "
                                   "holding the names with --question")
    return found


def _department_question(instrument: Instrument, wanted: str | None) -> Question | None:
    qid = wanted or "department"
    try:
        q = instrument.question(qid)
    except KeyError:
        if wanted:
            raise click.ClickException(f"--department-question {wanted}: no such question") from None
        return None
    if q.type != "single_choice":
        raise click.ClickException(f"--department-question {qid}: a {q.type} question; it must be single_choice")
    return q


def _physicians(survey: Survey, roster: Path | None, session: Session) -> tuple[Counter[str], str]:
    if roster is not None:
        try:
            entries = read_roster(roster.read_bytes(), str(roster))
        except RosterError as exc:
            raise click.ClickException(f"the roster cannot be read:\n{exc}") from None
        return Counter(e.department for e in entries), f"roster {roster.name}"
    query = (select(Invitation.department, func.count()).where(Invitation.survey_slug == survey.slug)
             .group_by(Invitation.department))
    invited: Counter[str] = Counter({dept: n for dept, n in session.execute(query)})
    if invited:
        return invited, "invitations"
    return Counter(), "no roster given and no invitations"


def _match(physicians: Counter[str], department: Question | None) -> dict[str, int]:
    """Return physicians per tally group: roster departments matched to the department question's labels."""
    if department is None:
        if len(physicians) == 1:
            return dict(physicians)
        return {ALL: sum(physicians.values())} if physicians else {}
    by_name: dict[str, str] = {}
    for option in department.choices:
        by_name[option.code.casefold()] = option.label
        by_name[option.label.casefold()] = option.label
    out: dict[str, int] = {}
    for name, n in physicians.items():
        label = by_name.get(name.casefold(), name)
        out[label] = out.get(label, 0) + n
    return out


def _print(tallies: list[DepartmentTally]) -> int:
    undecided = 0
    for dept in tallies:
        size = (f"{dept.physicians} physicians ({dept.physicians_from}): invite {dept.to_invite}"
                if dept.physicians is not None else f"physicians not known ({dept.physicians_from}): "
                "give --roster to get the number to invite")
        click.echo(f"\n{dept.department}: {dept.ballots} nominating forms; {size}")
        for n in dept.nominees:
            rank = f"{n.rank}=" if n.tied else str(n.rank)
            invite = f"  invite: {n.invite}" if n.invite else ""
            click.echo(f"  {rank:>4}  {n.name:30} {n.nominations:3}{invite}")
        for variant, kept in dept.proposals:
            undecided += 1
            click.echo(f"  proposed merge: '{variant}' looks like '{kept}': --merge \"{variant}={kept}\" to merge, "
                       f"--apart \"{variant}={kept}\" to keep apart")
    return undecided


@group.command("tally")
@click.argument("slug")
@click.option("--merge", "merges", multiple=True, metavar="SPELLING=KEPT",
              help="Count SPELLING as KEPT (repeatable).")
@click.option("--merge-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file of SPELLING=KEPT lines ('#' comments).")
@click.option("--apart", multiple=True, metavar="A=B", help="A and B are different people: stop proposing them.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Roster (CSV or XLSX: email, department) counting each department's physicians; default: the "
              "survey's invitations.")
@click.option("--question", "questions", multiple=True, metavar="QUESTION",
              help="A text question holding a nominee's name (repeatable; default: the nominee* questions).")
@click.option("--department-question", default=None, metavar="QUESTION",
              help="The single-choice question giving the department (default: 'department' when there is one).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the final tally (.csv or .xlsx); refused while proposed merges are undecided.")
def tally_command(slug: str, merges: tuple[str, ...], merge_file: Path | None, apart: tuple[str, ...],
                  roster: Path | None, questions: tuple[str, ...], department_question: str | None,
                  out: Path | None) -> None:
    """Rank SLUG's nominees per department; propose merges of spellings that look like one person."""
    if out is not None and out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.ClickException(f"--out {out.name}: give a .csv or .xlsx file")
    session = get_session()
    survey = session.get(Survey, slug)
    if survey is None:
        raise click.ClickException(f"no survey '{slug}' (see 'surveykit surveys list')")
    instrument = instrument_of(survey)
    names = _name_questions(instrument, questions)
    department = _department_question(instrument, department_question)
    try:
        pairs = [(*parse_merge(m, f"--merge {m}"), f"--merge {m}") for m in merges]
        if merge_file is not None:
            pairs += read_merge_file(merge_file)
        resolved = resolve(pairs)
        kept_apart = [parse_merge(a, f"--apart {a}") for a in apart]
    except NominationError as exc:
        raise click.ClickException(str(exc)) from None

    counted, source = _physicians(survey, roster, session)
    # A survey sent to one department (the usual case: each department nominates its own) is tallied under its name.
    whole = next(iter(counted)) if department is None and len(counted) == 1 else ALL

    def ballots() -> Iterator[tuple[str, list[str]]]:
        for answers in stream_answers(session, slug):
            group_name = whole
            if department is not None:
                code = answers.get(department.id)
                group_name = department.label_of(str(code)) if code else "No department given"
            yield group_name, [str(answers.get(q.id) or "") for q in names]

    tallies = tally(ballots(), resolved, _match(counted, department), source, kept_apart)
    undecided = _print(tallies)
    if undecided:
        click.echo(f"\nNot final: {undecided} proposed merge(s) to decide (--merge or --apart).")
    else:
        click.echo("\nFinal: no spelling left to review.")
    if out is None:
        return
    if undecided:
        raise click.ClickException(f"--out {out.name} not written: decide the {undecided} proposed merge(s) first")
    note = (f"Survey '{slug}'. Names normalised (case, spacing, titles, degrees); merges applied: {len(resolved)}. "
            f"Each form counts a colleague once. To invite: one supporter per 10 physicians, rounded up; "
            f"physicians from {source}. Ties share a rank (2=); 'tied at the cut' means the last place to invite "
            "falls among tied nominees. Nothing about the nominators is in this file.")
    if out.suffix.lower() == ".csv":
        write_tally_csv(out, tallies)
    else:
        write_tally_workbook(out, tallies, note)
    click.echo(f"wrote {out}")
