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
| ranking | `<id>.rank1` .. `<id>.rank<max_ranks>` | the option code ranked 1st, 2nd, ... |
| language (built in) | `language`, after the questions, in a multi-language instrument | the language answered in |
| score (``scores:``) | `<score id>`, after the questions | the score; empty when too many items are missing |

An empty cell means "not shown" or "shown and left empty": which one follows from the question's show_if
(the data dictionary states it), exactly as the server decided it. Multiple-choice columns are empty when
the question was not shown and 0/1 when it was.

Each question type names its column *layout* (instrument.types); :data:`LAYOUTS` maps a layout to its
columns, and a layout not in it is an error (``UnsupportedType``), never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from instrument import Instrument, Question, Score, UnsupportedType, question_type, score_value
from instrument.types.ranking import ordinal

from .model import Answers
from .tabular.text import EXCEL_CELL_LIMIT


@dataclass(frozen=True)
class Column:
    """One raw-data column: its header, its question and what it holds."""

    header: str
    question: Question
    kind: str  # value, flag, other_text, item, part, rank, score
    key: str = ""  # option code (flag), item id (item) or rank number (rank)
    part: int = 1  # text split over several columns: which slice
    is_text: bool = False  # free text, to be written formula-safe
    is_date: bool = False  # YYYY-MM-DD text, written as a date
    means: str = ""  # what the cell's values mean, for the data dictionary
    score: Score | None = None  # kind "score": the scored scale computed from the response's answers

    def codes(self) -> str:
        """Return what the cell's values mean, for the data dictionary."""
        return self.means


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
        if self.kind == "rank":
            index = int(key) - 1

            def rank(answers: Answers) -> Any:
                value = answers.get(qid)
                return value[index] if isinstance(value, list) and index < len(value) else None
            return rank
        if self.kind == "score" and self.score is not None:
            score = self.score
            return lambda answers: score_value(score, answers)
        if self.kind == "part":
            start, stop = (self.part - 1) * EXCEL_CELL_LIMIT, self.part * EXCEL_CELL_LIMIT
            def part(answers: Answers) -> Any:
                value = answers.get(qid)
                return (value[start:stop] or None) if isinstance(value, str) else None
            return part
        return lambda answers: answers.get(qid)


def _option_codes(q: Question) -> str:
    codes = [f"{o.code} = {o.label}" for o in q.choices]
    if q.other:
        codes.append("other = Other")
    return "; ".join(codes)


def row_reader(columns: Sequence[Column]) -> Callable[[Answers], list[Any]]:
    """Return a function turning an answer dict into one raw-data row (the same cells as each column's getter).

    Plain columns are read in one C-level ``map`` over the dict; only flags, matrix items and text parts,
    which need more than a lookup, go through their getters. (This is the export's hot path.)
    """
    keys = [f"{c.question.id}.other" if c.kind == "other_text" else c.question.id for c in columns]
    special = [(i, c.getter()) for i, c in enumerate(columns) if c.kind in ("flag", "item", "part", "rank", "score")]

    def read(answers: Answers) -> list[Any]:
        row = list(map(answers.get, keys))
        for i, get in special:
            row[i] = get(answers)
        return row

    return read


def _flags(q: Question, split_text: bool) -> list[Column]:
    cols = [Column(f"{q.id}.{o.code}", q, "flag", o.code, means=f"1 = {o.label} chosen, 0 = not chosen")
            for o in q.choices]
    if q.other:
        cols.append(Column(f"{q.id}.other", q, "flag", "other", means="1 = Other chosen, 0 = not chosen"))
        cols.append(Column(f"{q.id}.other_text", q, "other_text", is_text=True, means="the text written for 'Other'"))
    return cols


def _value(q: Question, split_text: bool) -> list[Column]:
    if q.choices:
        cols = [Column(q.id, q, "value", means=_option_codes(q))]
        if q.other:
            cols.append(Column(f"{q.id}.other_text", q, "other_text", is_text=True,
                               means="the text written for 'Other'"))
        return cols
    return [Column(q.id, q, "value", means="whole number" if q.integer else "number")]


def _levels(q: Question, split_text: bool) -> list[Column]:
    if q.items:
        return [Column(f"{q.id}.{item.id}", q, "item", item.id, means=_option_codes(q)) for item in q.items]
    return _value(q, split_text)


def _text(q: Question, split_text: bool) -> list[Column]:
    parts = -(-q.max_length // EXCEL_CELL_LIMIT) if split_text else 1
    if parts <= 1:
        return [Column(q.id, q, "value", is_text=True, means="text")]
    return [Column(q.id if i == 1 else f"{q.id}#{i}", q, "part", part=i, is_text=True,
                   means=f"text, continued: characters {(i - 1) * EXCEL_CELL_LIMIT + 1} onwards")
            for i in range(1, parts + 1)]


def _date(q: Question, split_text: bool) -> list[Column]:
    return [Column(q.id, q, "value", is_date=True, means="date, YYYY-MM-DD")]


def _ranks(q: Question, split_text: bool) -> list[Column]:
    return [Column(f"{q.id}.rank{r}", q, "rank", str(r), means=f"option ranked {ordinal(r)}: {_option_codes(q)}")
            for r in range(1, q.max_ranks + 1)]


LAYOUTS: dict[str, Callable[[Question, bool], list[Column]]] = {
    "value": _value, "flags": _flags, "levels": _levels, "text": _text, "date": _date, "ranks": _ranks,
}


def question_columns(q: Question, split_text: bool = True) -> list[Column]:
    """Return the raw-data columns of one question (text split into Excel-sized parts when *split_text*)."""
    layout = question_type(q.type).columns
    if layout not in LAYOUTS:
        raise UnsupportedType(f"question '{q.id}': no export columns for the layout '{layout}' of type '{q.type}'")
    return LAYOUTS[layout](q, split_text)


def raw_columns(instrument: Instrument, split_text: bool = True) -> list[Column]:
    """Return every raw-data column of *instrument*, in question order."""
    return [c for q in instrument.questions for c in question_columns(q, split_text)]


def score_columns(instrument: Instrument) -> list[Column]:
    """Return one column per scored scale of *instrument* (its question is a stand-in naming the score)."""
    return [Column(s.id, Question(s.id, "number", s.label, s.line, "scores"), "score", means=s.describe(), score=s)
            for s in instrument.scores]


def export_columns(instrument: Instrument, split_text: bool = True) -> list[Column]:
    """Return the columns a raw-data export writes: every question's, then every score's."""
    return raw_columns(instrument, split_text) + score_columns(instrument)
