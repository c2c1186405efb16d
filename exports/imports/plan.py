"""The column plan: every column of a file matched to a question, or dropped and listed, or an error."""

from __future__ import annotations

from dataclasses import dataclass, field

from instrument import Instrument, question_type

from ..columns import raw_columns
from ..readers import InvalidImport, SourceRow, Tabular, cell_text
from .mapping import Mapping, Target, normalize, squash, target_of
from .report import Problem

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
        if question_type(q.type).cells == "ranks":
            for option in q.choices:
                if rest == normalize(option.label):
                    return Target("choice_rank", q, option.code)  # Qualtrics rank order: "Question - Option"
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
    matrices = {q.id for q in instrument.questions if q.items}
    for index, header in enumerate(table.headers):
        text = table.texts[index] if index < len(table.texts) else ""
        key = squash(header)
        target: Target | None = None
        if header in mapping.columns:
            spec, line = mapping.columns[header]
            target = target_of(spec, instrument, f"{mapping.source}:{line}: column '{header}'")
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
            target_of(header, instrument, table.where(1, index))  # raises, saying how to map a matrix
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


def left_out(table: Tabular, plan: Plan, row: SourceRow) -> Problem | None:
    """Return why *row* is not a real response (a preview, a test, spam), or None when it is one."""
    if plan.status_column is None:
        return None
    status = squash(cell_text(row.cells[plan.status_column]) if plan.status_column < len(row.cells) else "")
    if status not in LEFT_OUT_STATUS:
        return None
    return Problem(table.where(row.line), f"{LEFT_OUT_STATUS[status]} response, not imported",
                   action="row left out", line=row.line)
