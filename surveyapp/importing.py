"""Import answers collected elsewhere (Microsoft Forms, Qualtrics, our own raw export) into a survey.

Every row is checked like a web submission: the mapped cells become the form a browser would have posted,
each section is parsed in order with the instrument's own validator (so skip logic applies, and answers to
questions the respondent would not have been shown are dropped and reported), then settled. A bad row is
reported with its line and column; nothing is stored unless the whole file is clean, or, with
``skip_invalid``, the bad rows are left out and listed in the report.

Columns are matched to questions by a mapping file, then by our raw-export headers (question ids), then by
question text. Columns that identify a respondent (names, e-mails, IP addresses, exact times, response ids,
locations, external references) are dropped and listed; other survey-tool bookkeeping (progress, duration,
language) is dropped too; any other column that matches no question stops the import, so no answers are
lost silently. Imported responses keep only the day (the file's completion date, else today).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from exports.columns import raw_columns
from exports.readers import InvalidImport, SourceRow, Tabular, as_day, cell_text
from exports.tabular.text import csv_text
from instrument import Instrument, Question, parse_section, settle
from instrument.yamlsource import LineDict, load_yaml

from .models import Response, Survey
from .surveys import instrument_of

BATCH = 500
MAX_LISTED = 20

# Header names compared after lower-casing and dropping everything but letters and digits.
IDENTIFYING = {
    # Qualtrics
    "startdate", "enddate", "recordeddate", "ipaddress", "responseid", "recipientlastname", "recipientfirstname",
    "recipientemail", "externalreference", "externaldatareference", "locationlatitude", "locationlongitude",
    # Microsoft Forms
    "id", "starttime", "completiontime", "email", "name", "lastmodifiedtime", "gradepostedtime",
    # common elsewhere
    "emailaddress", "firstname", "lastname", "fullname", "username", "userid", "respondentid", "ip",
    "timestamp", "submittedat", "submissiondate", "latitude", "longitude", "phone", "token",
}
IDENTIFYING_PARTS = ("email", "ipaddress", "latitude", "longitude", "phone")
METADATA = {"status", "progress", "durationinseconds", "duration", "finished", "distributionchannel",
            "userlanguage", "totalpoints", "quizfeedback", "language"}
DATE_COLUMNS = ("recordeddate", "enddate", "completiontime", "submittedat", "submissiondate", "timestamp",
                "startdate", "starttime")
LEFT_OUT_STATUS = {"surveypreview": "a Survey Preview", "surveytest": "a Survey Test", "spam": "marked as spam",
                   "1": "a Survey Preview", "2": "a Survey Test", "8": "marked as spam"}
TRUE_FLAGS = {"1", "true", "yes", "x", "selected", "checked"}
FALSE_FLAGS = {"0", "false", "no"}


class ImportFailed(ValueError):
    """The file has bad rows and nothing was imported; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:MAX_LISTED])
        more = len(problems) - MAX_LISTED
        tail = f"\n... and {more} more (--report FILE lists them all)" if more > 0 else ""
        super().__init__(f"nothing imported: {len(problems)} problem{'s' * (len(problems) != 1)}\n{shown}{tail}")


@dataclass(frozen=True)
class Problem:
    """One thing the report lists: where, which question, what, and what was done about it."""

    where: str
    what: str
    question: str = ""
    action: str = "row skipped"
    line: int | None = None

    def __str__(self) -> str:
        about = f": question '{self.question}'" if self.question else ""
        return f"{self.where}{about}: {self.what}"


@dataclass
class ImportReport:
    """What an import did: rows imported, rows skipped and why, columns and answers dropped."""

    source: str
    imported: int = 0
    skipped: list[Problem] = field(default_factory=list)
    left_out: list[Problem] = field(default_factory=list)
    dropped_columns: list[tuple[str, str]] = field(default_factory=list)
    dropped_answers: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def skipped_rows(self) -> int:
        """Return how many rows were skipped as invalid."""
        return len({p.line for p in self.skipped})

    def write(self, path: str | Path) -> None:
        """Write the report as CSV: one line per skipped row problem, dropped column or dropped answer."""
        with Path(path).open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["where", "question", "what", "action"])
            writer.writerow([self.source, "", f"{self.imported} responses imported", "summary"])
            for header, reason in self.dropped_columns:
                writer.writerow([csv_text(f"column '{header}'"), "", csv_text(reason), "column dropped"])
            for note in self.notes:
                writer.writerow([self.source, "", csv_text(note), "note"])
            for p in [*self.left_out, *self.skipped, *self.dropped_answers]:
                writer.writerow([csv_text(p.where), p.question, csv_text(p.what), p.action])


def squash(header: str) -> str:
    """Return a header reduced to lower-case letters and digits (for the lists of known columns)."""
    return re.sub(r"[^a-z0-9]", "", header.casefold())


_PLAIN = str.maketrans("‘’“”–—", "''\"\"--")


def normalize(text: str) -> str:
    """Return text compared loosely: NFKC, case-folded, plain quotes and dashes, single spaces, no trailing '*'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_PLAIN)
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip("* ").strip()


# Mapping files --------------------------------------------------------------------------------------------


@dataclass
class Mapping:
    """A mapping file: column header -> target ('drop', 'id', 'id.code', 'id.item', 'id.other_text')."""

    source: str = ""
    columns: dict[str, tuple[str, int]] = field(default_factory=dict)  # header -> (target, line)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # question id -> {normalized text: code}
    separator: str | None = None


def load_mapping(path: str | Path, instrument: Instrument) -> Mapping:
    """Read a mapping file (YAML: columns, values, separator); raise InvalidImport naming file:line."""
    path = Path(path)
    name = path.name
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidImport(f"{name}:1: cannot be read: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InvalidImport(f"{name}:{mark.line + 1 if mark else 1}: not valid YAML: {exc.problem}") from None
    if not isinstance(data, LineDict):
        raise InvalidImport(f"{name}:1: a mapping file is a YAML mapping with 'columns' (and 'values', 'separator')")
    for key in data:
        if key not in ("columns", "values", "separator"):
            raise InvalidImport(f"{name}:{data.line_of(key)}: unknown key '{key}' (columns, values, separator)")
    mapping = Mapping(source=name)
    columns = data.get("columns", {})
    if not isinstance(columns, LineDict):
        raise InvalidImport(f"{name}:{data.line_of('columns')}: 'columns' maps column headers to question ids")
    for header, target in columns.items():
        line = columns.line_of(header)
        if not isinstance(target, str):
            raise InvalidImport(f"{name}:{line}: column '{header}': give a question id or 'drop'")
        _target_of(target, instrument, f"{name}:{line}: column '{header}'")
        mapping.columns[str(header)] = (target, line)
    values = data.get("values", {})
    if not isinstance(values, LineDict):
        raise InvalidImport(f"{name}:{data.line_of('values')}: 'values' maps question ids to {{text: code}}")
    known = {q.id: q for q in instrument.questions}
    for qid, table in values.items():
        line = values.line_of(qid)
        if qid not in known:
            raise InvalidImport(f"{name}:{line}: values: no question '{qid}' in '{instrument.id}'")
        if not isinstance(table, LineDict):
            raise InvalidImport(f"{name}:{line}: values of '{qid}': map each text in the file to an option code")
        codes = {o.code for o in known[qid].choices} | ({"other"} if known[qid].other else set())
        for text, code in table.items():
            if str(code) not in codes:
                raise InvalidImport(f"{name}:{table.line_of(text)}: values of '{qid}': '{code}' is not an "
                                    f"option code ({', '.join(sorted(codes))})")
        mapping.values[qid] = {normalize(str(t)): str(c) for t, c in table.items()}
    separator = data.get("separator")
    if separator is not None:
        if not isinstance(separator, str) or not separator:
            raise InvalidImport(f"{name}:{data.line_of('separator')}: 'separator' is the text between the "
                                "options of a multiple-choice answer, e.g. ';'")
        mapping.separator = separator
    return mapping


# Column plan ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What one column holds: a question's answer, an option flag, a matrix statement, an 'Other' text."""

    kind: str  # value, flag, item, other_text, part
    question: Question
    key: str = ""
    part: int = 1


def _target_of(spec: str, instrument: Instrument, where: str) -> Target | None:
    """Return the target named by *spec* ('drop' -> None); raise InvalidImport when it names nothing."""
    if spec == "drop":
        return None
    known = {q.id: q for q in instrument.questions}
    if spec in known and known[spec].type == "likert" and known[spec].items:
        statements = ", ".join(f"{spec}.{i.id}" for i in known[spec].items)
        raise InvalidImport(f"{where}: '{spec}' is a Likert matrix, answered one statement per column: "
                            f"map its columns as {statements}")
    if spec in known:
        return Target("value", known[spec])
    if "#" in spec:
        qid, _, part = spec.partition("#")
        if qid in known and known[qid].type == "text" and part.isdigit() and int(part) >= 2:
            return Target("part", known[qid], part=int(part))
    qid, _, key = spec.partition(".")
    q = known.get(qid)
    if q is not None:
        if key == "other_text" and q.other:
            return Target("other_text", q)
        if q.type == "multiple_choice" and key in {o.code for o in q.choices} | ({"other"} if q.other else set()):
            return Target("flag", q, key)
        if q.type == "likert" and key in {i.id for i in q.items}:
            return Target("item", q, key)
    raise InvalidImport(f"{where}: '{spec}' names no question, option or statement of '{instrument.id}' "
                        "(use 'id', 'id.option', 'id.statement', 'id.other_text' or 'drop')")


@dataclass
class Plan:
    """Which column holds what, and which were dropped."""

    targets: dict[int, Target] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    date_column: int | None = None
    status_column: int | None = None
    first_column: dict[str, int] = field(default_factory=dict)


def _by_text(instrument: Instrument, text: str) -> Target | None:
    wanted = normalize(text)
    if not wanted:
        return None
    for q in instrument.questions:
        qtext = normalize(q.text)
        if wanted == qtext:
            return Target("value", q)
        if not wanted.startswith(qtext):
            continue
        rest = wanted[len(qtext):].lstrip(" -.:").strip()
        for item in q.items:
            if rest == normalize(item.text):
                return Target("item", q, item.id)
        if q.other and rest in ("other - text", "other (please specify) - text", "other - please specify"):
            return Target("other_text", q)
    return None


def plan_columns(table: Tabular, instrument: Instrument, mapping: Mapping | None = None) -> Plan:
    """Match every column to a question or drop it; raise InvalidImport listing any column that matches neither."""
    mapping = mapping or Mapping()
    plan = Plan()
    ours = {c.header: c for c in raw_columns(instrument)}
    unmatched: list[str] = []
    dates: dict[str, int] = {}  # the day each response was completed comes from the best of these
    matrices = {q.id for q in instrument.questions if q.type == "likert" and q.items}
    for index, header in enumerate(table.headers):
        text = table.texts[index] if index < len(table.texts) else ""
        key = squash(header)
        target: Target | None = None
        if header in mapping.columns:
            spec, line = mapping.columns[header]
            target = _target_of(spec, instrument, f"{mapping.source}:{line}: column '{header}'")
            if target is None:
                plan.dropped.append((header, "dropped by the mapping file"))
                continue
        elif not header and not text:
            continue
        elif key in IDENTIFYING or any(part in key for part in IDENTIFYING_PARTS):
            plan.dropped.append((header, "identifies a respondent (name, e-mail, address, exact time or id)"))
            if key in DATE_COLUMNS:
                dates.setdefault(key, index)
            continue
        elif header in matrices:
            _target_of(header, instrument, table.where(1, index))  # raises, saying how to map a matrix
        elif header in ours:
            col = ours[header]
            target = Target(col.kind, instrument.question(col.question.id), col.key, col.part)
        else:
            target = _by_text(instrument, header) or _by_text(instrument, text)
            if target is None:
                if key in METADATA or header.startswith("Q_"):
                    plan.dropped.append((header, "survey tool bookkeeping, not an answer"))
                    if key == "status":
                        plan.status_column = index
                else:
                    unmatched.append(f"{table.where(1, index)}: matches no question of '{instrument.id}' by id "
                                     "or text; map it in a mapping file (--mapping), or map it to 'drop'")
                continue
        if target is None:
            continue
        clash = next((i for i, t in plan.targets.items() if t == target), None)
        if clash is not None:
            raise InvalidImport(f"{table.where(1, index)}: holds the same answer as {table.column(clash)} "
                                f"(question '{target.question.id}')")
        plan.targets[index] = target
        plan.first_column.setdefault(target.question.id, index)
    if unmatched:
        raise InvalidImport("\n".join(unmatched))
    plan.date_column = next((dates[k] for k in DATE_COLUMNS if k in dates), None)
    missing = [q for q in instrument.questions if q.id not in plan.first_column]
    # Questions required of everyone need a column; one required only when shown fails on the rows showing it.
    required = [q.id for q in missing if q.required and q.show_if is None]
    if required:
        raise InvalidImport(f"{table.where(1)}: no column for the required question{'s' * (len(required) > 1)} "
                            f"{', '.join(repr(r) for r in required)}; map one in a mapping file (--mapping)")
    return plan


# Rows -----------------------------------------------------------------------------------------------------


def _choice_code(q: Question, text: str, mapping: Mapping) -> str | None:
    wanted = normalize(text)
    mapped = mapping.values.get(q.id, {}).get(wanted)
    if mapped is not None:
        return mapped
    for option in q.choices:
        if text == option.code or wanted == normalize(option.label):
            return option.code
    if q.other and (text == "other" or wanted.startswith("other")):
        return "other"
    return None


def _split_choices(q: Question, text: str, mapping: Mapping) -> tuple[list[str], list[str]]:
    """Split a multiple-choice cell into option codes; return (codes, parts that match no option)."""
    separator = mapping.separator or (";" if ";" in text else ",")
    parts = [p for p in text.split(separator)]
    codes: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(parts):
        if not parts[i].strip():
            i += 1
            continue
        # Labels may hold the separator ("Yes, I have"): join the longest run of parts that names an option.
        for j in range(len(parts), i, -1):
            code = _choice_code(q, separator.join(parts[i:j]).strip(), mapping)
            if code is not None:
                codes.append(code)
                i = j
                break
        else:
            unknown.append(parts[i].strip())
            i += 1
    return codes, unknown


def _options_hint(q: Question) -> str:
    labels = [o.label for o in q.choices]
    return ", ".join(labels[:8]) + (", ..." if len(labels) > 8 else "")


class _Row:
    """The form a browser would have posted for one row, built cell by cell."""

    def __init__(self, table: Tabular, plan: Plan, mapping: Mapping, row: SourceRow) -> None:
        self.form: MultiDict[str, str] = MultiDict()
        self.present: set[str] = set()
        self.problems: list[Problem] = []
        self.line = row.line
        parts: dict[str, list[tuple[int, str]]] = {}
        for index, target in plan.targets.items():
            value = row.cells[index] if index < len(row.cells) else None
            text = cell_text(value)
            if not text:
                continue
            q = target.question
            where = table.where(row.line, index)
            if target.kind == "part" or (target.kind == "value" and q.type == "text"):
                parts.setdefault(q.id, []).append((target.part, str(value) if isinstance(value, str) else text))
                self.present.add(q.id)
                continue
            problem = self._cell(table, target, text, mapping)
            if problem:
                self.problems.append(Problem(where, problem, q.id, line=row.line))
            else:
                self.present.add(q.id)
        for qid, pieces in parts.items():
            self.form[qid] = "".join(piece for _, piece in sorted(pieces))

    def _cell(self, table: Tabular, target: Target, text: str, mapping: Mapping) -> str:
        q, form = target.question, self.form
        if target.kind == "other_text":
            form[f"{q.id}__other"] = text
            return ""
        if target.kind == "flag":
            flag = normalize(text)
            if flag in TRUE_FLAGS or _choice_code(q, text, mapping) == target.key:
                form.add(q.id, target.key)
                return ""
            return "" if flag in FALSE_FLAGS else f"'{text}' is not 1/0 (chosen / not chosen)"
        if target.kind == "item":
            code = _choice_code(q, text, mapping)
            if code is None:
                return f"'{text}' is not a point of the scale ({_options_hint(q)})"
            form[f"{q.id}__{target.key}"] = code
            return ""
        if q.type in ("single_choice", "likert"):
            code = _choice_code(q, text, mapping)
            if code is None and q.other and table.flavour == "forms":
                # Microsoft Forms writes the respondent's own "Other" text in place of the option.
                form[q.id] = "other"
                form[f"{q.id}__other"] = text
                return ""
            if code is None:
                return f"'{text}' is not an option ({_options_hint(q)})"
            form[q.id] = code
            return ""
        if q.type == "multiple_choice":
            codes, unknown = _split_choices(q, text, mapping)
            if unknown and q.other and table.flavour == "forms" and len(unknown) == 1:
                codes.append("other")
                form[f"{q.id}__other"] = unknown[0]
                unknown = []
            if unknown:
                return f"{', '.join(repr(u) for u in unknown)}: not among the options ({_options_hint(q)})"
            for code in codes:
                if code not in form.getlist(q.id):
                    form.add(q.id, code)
            return ""
        form[q.id] = text
        return ""


def check_row(instrument: Instrument, table: Tabular, plan: Plan, mapping: Mapping, row: SourceRow
              ) -> tuple[dict[str, Any] | None, list[Problem], list[Problem]]:
    """Validate one row like a web submission: return (answers or None, problems, dropped hidden answers)."""
    built = _Row(table, plan, mapping, row)
    problems = list(built.problems)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for section in instrument.sections:
        values, section_errors = parse_section(section, built.form, answers)
        answers.update(values)
        errors.update(section_errors)
    settled, missing = settle(instrument, answers)
    errors.update({k: v for k, v in missing.items() if k not in errors})
    bad_cells = {p.question for p in problems}
    for qid, message in errors.items():
        if qid in bad_cells:
            continue  # the cell's own problem already says it
        index = plan.first_column.get(qid)
        where = table.where(row.line, index) if index is not None else table.where(row.line)
        problems.append(Problem(where, message, qid, line=row.line))
    dropped = []
    for qid in sorted(built.present - settled.keys(), key=lambda k: plan.first_column.get(k, 0)):
        q = instrument.question(qid)
        reason = q.show_if.describe() if q.show_if is not None else "shown"
        dropped.append(Problem(table.where(row.line, plan.first_column.get(qid)),
                               f"answer dropped: the question is shown only when {reason}", qid,
                               action="answer dropped", line=row.line))
    return (None if problems else settled), problems, dropped


def import_answers(session: Session, survey: Survey, table: Tabular, mapping: Mapping | None = None, *,
                   skip_invalid: bool = False, today: dt.date | None = None,
                   progress: Callable[[int], None] | None = None) -> ImportReport:
    """Validate every row of *table* and store the responses in one transaction; raise ImportFailed if unclean."""
    instrument = instrument_of(survey)
    mapping = mapping or Mapping()
    plan = plan_columns(table, instrument, mapping)
    report = ImportReport(source=table.path.name, dropped_columns=list(plan.dropped))
    today = today or dt.date.today()
    version = survey.instrument_version
    missing = [q.id for q in instrument.questions if q.id not in plan.first_column]
    if missing:
        report.notes.append(f"no column for {', '.join(missing)}: imported as not answered")
    problems: list[Problem] = []
    pending = 0
    try:
        for row in table.rows():
            if progress is not None:
                progress(1)
            if plan.status_column is not None:
                status = squash(cell_text(row.cells[plan.status_column]) if plan.status_column < len(row.cells)
                                else "")
                if status in LEFT_OUT_STATUS:
                    report.left_out.append(Problem(table.where(row.line), f"{LEFT_OUT_STATUS[status]} response, "
                                                   "not imported", action="row left out", line=row.line))
                    continue
            answers, row_problems, dropped = check_row(instrument, table, plan, mapping, row)
            report.dropped_answers.extend(dropped)
            if answers is None:
                problems.extend(row_problems)
                continue
            day = None
            if plan.date_column is not None and plan.date_column < len(row.cells):
                day = as_day(row.cells[plan.date_column])
            session.add(Response(survey_slug=survey.slug, instrument_id=version.instrument_id,
                                 instrument_version=version.version, instrument_sha256=version.sha256,
                                 submitted_on=min(day or today, today), answers=answers))
            report.imported += 1
            pending += 1
            if pending >= BATCH:
                session.flush()
                pending = 0
        if problems and not skip_invalid:
            raise ImportFailed(problems)
        report.skipped = problems
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
