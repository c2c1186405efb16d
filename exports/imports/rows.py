"""One row of a file checked like a web submission: its cells become the form a browser would have posted."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from instrument import Instrument, Question, UnsupportedType, parse_section, question_type, settle
from instrument.types.ranking import rank_field

from ..readers import SourceRow, Tabular, cell_text
from .mapping import Mapping, Target, normalize
from .plan import Plan
from .report import Problem

TRUE_FLAGS = {"1", "true", "yes", "x", "selected", "checked"}
FALSE_FLAGS = {"0", "false", "no"}
# The Other option's own label as survey tools write it; any other text is the respondent's and is never guessed.
OTHER_LABEL = re.compile(r"^other( \(please specify\)| \(specify\)|,? please specify|:)?$")


def _choice_code(q: Question, text: str, mapping: Mapping) -> str | None:
    wanted = normalize(text)
    mapped = mapping.values.get(q.id, {}).get(wanted)
    if mapped is not None:
        return mapped
    for option in q.choices:
        if text == option.code or wanted == normalize(option.label):
            return option.code
    if q.other and OTHER_LABEL.match(wanted):
        return "other"
    return None


def _split_choices(q: Question, text: str, mapping: Mapping) -> tuple[list[str], list[str]]:
    """Split a cell listing options (multiple choice, or a ranking in order) into codes; return (codes, unmatched)."""
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


def _map_hint(q: Question, text: str) -> str:
    return f"; if it means an option, map it: values: {{{q.id}: {{{text!r}: CODE}}}}"


class Form:
    """The fields a browser would have posted (what instrument's form parsing reads): name -> values."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.as_other: list[tuple[str, str]] = []  # (question id, text) stored as Other: reported, never silent

    def get(self, key: str, /) -> str | None:
        """Return the first value posted under *key*, or None."""
        values = self.fields.get(key)
        return values[0] if values else None

    def getlist(self, key: str) -> list[str]:
        """Return every value posted under *key*."""
        return list(self.fields.get(key, ()))

    def __setitem__(self, key: str, value: str) -> None:
        self.fields[key] = [value]

    def add(self, key: str, value: str) -> None:
        """Post one more value under *key*."""
        self.fields.setdefault(key, []).append(value)


# What a cell of each import kind (instrument.types: QuestionType.cells) posts; the message is '' when the cell is
# good. A kind missing here is an error (UnsupportedType), so a new type cannot be imported by accident as text.
CellReader = Callable[[Form, Tabular, Target, str, Mapping], str]


def _choice_cell(form: Form, table: Tabular, target: Target, text: str, mapping: Mapping) -> str:
    q = target.question
    code = _choice_code(q, text, mapping)
    if code is None and q.other and table.flavour == "forms":
        # Microsoft Forms writes the respondent's own "Other" text in place of the option.
        form[q.id] = "other"
        form[f"{q.id}__other"] = text
        form.as_other.append((q.id, text))
        return ""
    if code is None:
        return f"'{text}' is not an option ({_options_hint(q)}){_map_hint(q, text)}"
    form[q.id] = code
    return ""


def _choices_cell(form: Form, table: Tabular, target: Target, text: str, mapping: Mapping) -> str:
    q = target.question
    codes, unknown = _split_choices(q, text, mapping)
    if unknown and q.other and table.flavour == "forms" and len(unknown) == 1:
        codes.append("other")
        form[f"{q.id}__other"] = unknown[0]
        form.as_other.append((q.id, unknown[0]))
        unknown = []
    if unknown:
        return (f"{', '.join(repr(u) for u in unknown)}: not among the options ({_options_hint(q)})"
                f"{_map_hint(q, unknown[0])}")
    for code in codes:
        if code not in form.getlist(q.id):
            form.add(q.id, code)
    return ""


def _raw_cell(form: Form, table: Tabular, target: Target, text: str, mapping: Mapping) -> str:
    form[target.question.id] = text
    return ""


def _ranks_cell(form: Form, table: Tabular, target: Target, text: str, mapping: Mapping) -> str:
    """Read a ranking: our export's code per rank, Qualtrics' rank per option, or options in rank order."""
    q = target.question
    if target.kind == "choice_rank":
        rank = int(text) if text.isdigit() else 0
        if rank < 1:
            return f"'{text}' is not a rank (a whole number from 1)"
        if rank > q.max_ranks:
            return f"rank {rank} is beyond the {q.max_ranks} this question ranks"
        taken = form.get(rank_field(q.id, rank))
        if taken is not None:
            return f"rank {rank} is given to both '{q.label_of(taken)}' and '{q.label_of(target.key)}'"
        form[rank_field(q.id, rank)] = target.key
        return ""
    if target.kind == "rank":
        code = _choice_code(q, text, mapping)
        if code is None:
            return f"'{text}' is not an option ({_options_hint(q)})"
        form[rank_field(q.id, int(target.key))] = code
        return ""
    codes, unknown = _split_choices(q, text, mapping)
    if unknown:
        return f"{', '.join(repr(u) for u in unknown)}: not among the options ({_options_hint(q)})"
    if len(codes) > q.max_ranks:
        return f"{len(codes)} options ranked; this question ranks at most {q.max_ranks}"
    for rank, code in enumerate(codes, start=1):
        form[rank_field(q.id, rank)] = code
    return ""


CELLS: dict[str, CellReader] = {
    "choice": _choice_cell, "choices": _choices_cell, "raw": _raw_cell, "text": _raw_cell, "ranks": _ranks_cell,
}


def _cell_reader(q: Question) -> CellReader:
    kind = question_type(q.type).cells
    if kind not in CELLS:
        raise UnsupportedType(f"question '{q.id}': no import for the cell kind '{kind}' of type '{q.type}'")
    return CELLS[kind]


class _Row:
    """The form a browser would have posted for one row, built cell by cell."""

    def __init__(self, table: Tabular, plan: Plan, mapping: Mapping, row: SourceRow) -> None:
        self.form = Form()
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
            if target.kind == "part" or (target.kind == "value" and question_type(q.type).cells == "text"):
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
        return _cell_reader(q)(form, table, target, text, mapping)


def check_row(instrument: Instrument, table: Tabular, plan: Plan, mapping: Mapping, row: SourceRow,
              as_other: list[Problem] | None = None) -> tuple[dict[str, Any] | None, list[Problem], list[Problem]]:
    """Validate one row like a web submission: return (answers or None, problems, dropped hidden answers).

    Texts stored as Other (Microsoft Forms writes the Other text in place of the option) are appended to
    *as_other*, one Problem per cell (action "stored as Other"), so the caller can list or refuse them.
    """
    built = _Row(table, plan, mapping, row)
    problems = list(built.problems)
    if as_other is not None:
        for qid, text in built.form.as_other:
            where = table.where(row.line, plan.first_column.get(qid))
            as_other.append(Problem(where, text, qid, action="stored as Other", line=row.line))
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
