"""The raw data layout: one row per response, one column per question, headers stable across exports.

Headers are built from ids, never from question text, so they stay the same when wording is edited:

| question type | column(s) | cell |
| --- | --- | --- |
| single_choice | `<id>` | option code (`<id>.other_text`: the "Other" text, when the question has one) |
| multiple_choice | `<id>.<code>` per option (and `<id>.other`) | 1 chosen, 0 not chosen |
| likert | `<id>`, or `<id>.<item>` per statement of a matrix | level 1..n |
| text | `<id>` (more columns `<id>#2`, ... only when max_length exceeds an Excel cell) | the text, in full |
| number | `<id>` | the number |
| date | `<id>` | YYYY-MM-DD |

An empty cell means "not shown" or "shown and left empty": which one follows from the question's show_if
(the data dictionary states it), exactly as the server decided it. Multiple-choice columns are empty when
the question was not shown and 0/1 when it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Answers, InstrumentLike, QuestionLike, label_of
from .tabular.text import EXCEL_CELL_LIMIT


@dataclass(frozen=True)
class Column:
    """One raw-data column: its header, its question and what it holds."""

    header: str
    question: QuestionLike
    kind: str  # value, flag, other_text, item, part
    key: str = ""  # option code (flag) or item id (item)
    part: int = 1  # text split over several columns: which slice
    is_text: bool = False  # free text, to be written formula-safe

    def codes(self) -> str:
        """Return what the cell's values mean, for the data dictionary."""
        q = self.question
        if self.kind == "flag":
            return f"1 = {label_of(q, self.key)} chosen, 0 = not chosen"
        if self.kind == "other_text":
            return "the text written for 'Other'"
        if q.type in ("single_choice", "likert"):
            codes = [f"{o.code} = {o.label}" for o in q.choices]
            if q.other:
                codes.append("other = Other")
            return "; ".join(codes)
        if q.type == "number":
            return "whole number" if q.integer else "number"
        if q.type == "date":
            return "date, YYYY-MM-DD"
        if self.kind == "part":
            return f"text, continued: characters {(self.part - 1) * EXCEL_CELL_LIMIT + 1} onwards"
        return "text"

    def getter(self) -> Callable[[Answers], Any]:
        """Return a function reading this column's cell from an answer dict."""
        qid, key = self.question.id, self.key
        if self.kind == "flag":
            def flag(answers: Answers) -> Any:
                if qid not in answers:
                    return None
                return 1 if key in (answers[qid] or ()) else 0
            return flag
        if self.kind == "other_text":
            other = f"{qid}.other"
            return lambda answers: answers.get(other)
        if self.kind == "item":
            def item(answers: Answers) -> Any:
                value = answers.get(qid)
                return value.get(key) if isinstance(value, dict) else None
            return item
        if self.kind == "part":
            start, stop = (self.part - 1) * EXCEL_CELL_LIMIT, self.part * EXCEL_CELL_LIMIT
            def part(answers: Answers) -> Any:
                value = answers.get(qid)
                return (value[start:stop] or None) if isinstance(value, str) else None
            return part
        return lambda answers: answers.get(qid)


def row_reader(columns: Sequence[Column]) -> Callable[[Answers], list[Any]]:
    """Return a function turning an answer dict into one raw-data row (the same cells as each column's getter).

    Plain columns are read in one C-level ``map`` over the dict; only flags, matrix items and text parts,
    which need more than a lookup, go through their getters. (This is the export's hot path.)
    """
    keys = [f"{c.question.id}.other" if c.kind == "other_text" else c.question.id for c in columns]
    special = [(i, c.getter()) for i, c in enumerate(columns) if c.kind in ("flag", "item", "part")]

    def read(answers: Answers) -> list[Any]:
        row = list(map(answers.get, keys))
        for i, get in special:
            row[i] = get(answers)
        return row

    return read


def question_columns(q: QuestionLike, split_text: bool = True) -> list[Column]:
    """Return the raw-data columns of one question (text split into Excel-sized parts when *split_text*)."""
    if q.type == "multiple_choice":
        cols = [Column(f"{q.id}.{o.code}", q, "flag", o.code) for o in q.choices]
        if q.other:
            cols.append(Column(f"{q.id}.other", q, "flag", "other"))
            cols.append(Column(f"{q.id}.other_text", q, "other_text", is_text=True))
        return cols
    if q.type == "single_choice":
        cols = [Column(q.id, q, "value")]
        if q.other:
            cols.append(Column(f"{q.id}.other_text", q, "other_text", is_text=True))
        return cols
    if q.type == "likert" and q.items:
        return [Column(f"{q.id}.{item.id}", q, "item", item.id) for item in q.items]
    if q.type == "text":
        parts = -(-q.max_length // EXCEL_CELL_LIMIT) if split_text else 1
        if parts <= 1:
            return [Column(q.id, q, "value", is_text=True)]
        return [Column(q.id if i == 1 else f"{q.id}#{i}", q, "part", part=i, is_text=True)
                for i in range(1, parts + 1)]
    return [Column(q.id, q, "value")]


def raw_columns(instrument: InstrumentLike, split_text: bool = True) -> list[Column]:
    """Return every raw-data column of *instrument*, in question order."""
    return [c for q in instrument.questions for c in question_columns(q, split_text)]
