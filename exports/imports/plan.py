"""The column plan: every column of a file matched to a question, or dropped and listed, or an error.

Qualtrics headers are read as Qualtrics writes them: "question - Selected Choice" (the choice column of a
question with a text box), "question - Selected Choice - option" (one column per option), "question - Other -
Text" (the Other text), "question - option" (the rank given to an option, or a matrix statement). Text iQ
columns ("Q2 - Topics", "Q2 - Sentiment Score", ...) are Qualtrics' analysis of an answer, not an answer:
they are dropped with a note. Questions sharing one text are matched to the columns holding that text in
order (both in file order); a column left over is refused with the mapping line that would place it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from instrument import Instrument, Question, question_type

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
    # legacy Qualtrics (V1..V10 known by their second-row names)
    "locationaccuracy",
}
IDENTIFYING_REASON = "identifies a respondent: name, e-mail, IP address, location, exact time or id"
IDENTIFYING_PARTS = ("email", "ipaddress", "latitude", "longitude", "phone")
METADATA = {"status", "progress", "durationinseconds", "duration", "finished", "distributionchannel",
            "userlanguage", "totalpoints", "quizfeedback", "language", "responseset"}
# Qualtrics Text iQ: its topics and sentiment of a text answer, as "Q2 - Topics" with an ImportId "QID2_TEXT_..".
TEXT_IQ = re.compile(r" - (parent topics|topics|topic sentiment (label|score)|sentiment( polarity| score)?|"
                     r"actionability|emotion( intensity)?|effort( score)?|topic hierarchy level \d+)$")
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
    notes: list[str] = field(default_factory=list)


SELECTED = " - selected choice"
OTHER_TEXT = re.compile(r"^other\b.* - text$|^other - please specify$")


def _targets_in(q: Question, rest: str) -> Target | None:
    """Return what the column "question text - *rest*" holds for *q* (rest normalized), or None."""
    per_option = SELECTED.lstrip(" -") + " - "
    if rest.startswith(per_option):  # one column per option: "... - Selected Choice - option"
        label = rest[len(per_option):].strip()
        if question_type(q.type).cells == "choices":
            for option in q.choices:
                if label == normalize(option.label):
                    return Target("flag", q, option.code)
            if q.other and label.startswith("other"):
                return Target("flag", q, "other")
        return None
    for item in q.items:
        if rest == normalize(item.text):
            return Target("item", q, item.id)
    if question_type(q.type).cells == "ranks":
        for option in q.choices:
            if rest == normalize(option.label):
                return Target("choice_rank", q, option.code)  # Qualtrics rank order: "Question - Option"
    if q.other and OTHER_TEXT.match(rest):
        return Target("other_text", q)
    return None


def _by_text(instrument: Instrument, text: str) -> list[Target]:
    """Return every target whose question text the column's text names (several when questions share a text)."""
    wanted = normalize(text)
    if not wanted:
        return []
    if wanted.endswith(SELECTED):  # the choice column of a question with a text box (Other)
        wanted = wanted[: -len(SELECTED)].strip()
    found = []
    for q in instrument.questions:
        qtext = normalize(q.text)
        if wanted == qtext:
            found.append(Target("value", q))
        elif wanted.startswith(qtext):
            target = _targets_in(q, wanted[len(qtext):].lstrip(" -.:").strip())
            if target is not None:
                found.append(target)
    return found


def _is_text_iq(table: Tabular, index: int, header: str) -> bool:
    import_id = table.import_ids[index] if index < len(table.import_ids) else ""
    return bool(TEXT_IQ.search(header.casefold())) or re.search(r"_TEXT_[0-9a-f]{8,}", import_id) is not None


def plan_columns(table: Tabular, instrument: Instrument, mapping: Mapping | None = None) -> Plan:
    """Match every column to a question or drop it; raise InvalidImport listing any column that matches neither."""
    mapping = mapping or Mapping()
    plan = Plan()
    ours = {c.header: c for c in raw_columns(instrument)}
    scores = {s.id for s in instrument.scores}
    unmatched: list[str] = []
    dates: dict[str, int] = {}  # the day each response was completed comes from the best of these
    matrices = {q.id for q in instrument.questions if q.items}
    shared: dict[str, list[int]] = {}  # question text -> columns matched by position among questions sharing it
    text_iq: list[str] = []
    for index, header in enumerate(table.headers):
        text = table.texts[index] if index < len(table.texts) else ""
        name = table.names[index] if index < len(table.names) else header
        key = squash(header)
        target: Target | None = None
        mapped = header if header in mapping.columns else name if name in mapping.columns else None
        if mapped is not None and table.headers.count(mapped) > 1:
            spec, line = mapping.columns[mapped]
            raise InvalidImport(f"{mapping.source}:{line}: column '{mapped}' heads {table.headers.count(mapped)} "
                                "columns of the file: the mapping cannot tell them apart; give each its own "
                                "header in the file first")
        if mapped is not None:
            spec, line = mapping.columns[mapped]
            target = target_of(spec, instrument, f"{mapping.source}:{line}: column '{mapped}'")
            if target is None:
                plan.dropped.append((header, "dropped by the mapping file"))
                continue
        elif not header and not text:
            continue
        elif table.flavour == "qualtrics" and _is_text_iq(table, index, header):
            plan.dropped.append((header, "Qualtrics Text iQ (topics, sentiment), not an answer"))
            text_iq.append(header)
            continue
        elif key in IDENTIFYING or any(part in key for part in IDENTIFYING_PARTS):
            plan.dropped.append((header, IDENTIFYING_REASON))
            if key in DATE_COLUMNS:
                dates.setdefault(key, index)
            continue
        elif header in scores and header not in ours:
            plan.dropped.append((header, "a score of the instrument, computed again from its items"))
            continue
        elif header in matrices:
            target_of(header, instrument, table.where(1, index))  # raises, saying how to map a matrix
        elif header in ours:
            col = ours[header]
            target = Target(col.kind, instrument.question(col.question.id), col.key, col.part)
        else:
            candidates = _by_text(instrument, header) or _by_text(instrument, text)
            free = [t for t in candidates if t not in plan.targets.values()]
            if len(candidates) > 1 and free:
                shared.setdefault(normalize(text or header), []).append(index)
            if candidates and not free:
                taken = next(i for i, t in plan.targets.items() if t == candidates[-1])
                ids = ", ".join(t.question.id for t in candidates)
                rename = (f"give it its own header in the file (e.g. '{header} (2)'), then " if
                          table.headers.count(header) > 1 else "")
                key = f"{header} (2)" if rename else name
                raise InvalidImport(
                    f"{table.where(1, index)}: the same question text as {table.column(taken)} ({ids}): {rename}say "
                    f"which question it holds in a mapping file (--mapping), e.g.\ncolumns:\n  {_yaml_key(key)}: "
                    f"{_spec(candidates[-1])}   # or: drop")
            target = free[0] if free else None
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
    for text, indexes in shared.items():
        placed = ", ".join(f"{table.column(i)} -> {plan.targets[i].question.id}" for i in indexes)
        plan.notes.append(f"questions sharing the text '{text}' matched in order: {placed}")
    if text_iq:
        plan.notes.append(f"Qualtrics Text iQ columns ignored (analysis, not answers): {', '.join(text_iq)}")
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


def _yaml_key(header: str) -> str:
    return header if re.fullmatch(r"[A-Za-z_][\w .()-]*", header) and not header.endswith(" ") else repr(header)


def _spec(target: Target) -> str:
    if target.kind in ("flag", "item", "choice_rank"):
        return f"{target.question.id}.{target.key}"
    if target.kind == "other_text":
        return f"{target.question.id}.other_text"
    return target.question.id


def question_texts_row(table: Tabular, plan: Plan, row: SourceRow) -> bool:
    """Say whether *row* repeats the question texts (a second header row the reader could not recognise)."""
    if not plan.targets:
        return False
    for index, target in plan.targets.items():
        cell = normalize(cell_text(row.cells[index]) if index < len(row.cells) else "")
        if not cell.startswith(normalize(target.question.text)):
            return False
    return True
