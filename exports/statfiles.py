"""The raw data as an SPSS (.sav) or Stata (.dta) file, with labels and the two kinds of missing (pyreadstat).

One variable per raw-data column (:mod:`exports.columns`), named from its header (``barriers.time`` ->
``barriers_time``), labelled with the question text (and the option, statement or rank it holds):

* choices (single choice, ranking ranks, likert levels) are numbers with value labels: codes that are whole
  numbers keep their number (likert levels 1..n), other codes are numbered 1..k in option order; "Other"
  is k+1;
* multiple choice: one 0/1 variable per option (1 chosen), as the raw data;
* numbers are numbers; dates are dates; texts are strings.

A question the skip logic hid and one shown but left unanswered are told apart, as the tables do:

* SPSS: user-missing values ``-8`` "Not shown" and ``-9`` "Shown, not answered" on every numeric variable
  (labelled; a number question whose answers reach -8 gets two codes below its lowest answer instead);
  dates and texts are empty in both cases (SPSS has no user-missing dates, and a code in a text would read
  as an answer);
* Stata: extended missing ``.a`` (not shown) and ``.b`` (shown, not answered) on every numeric and date
  variable, labelled on the numeric ones; texts are empty in both cases.

A multiple-choice question shown and left empty is 0 in every option variable (as in the raw data: "no
option chosen" is part of its table), so only "not shown" is missing there. Whether a text question was
shown follows from its shown-if condition (the data dictionary), exactly as in the raw data. A score (the
instrument's ``scores:``) follows the questions as a number; one not computed (too many items missing) is
"Shown, not answered", or "Not shown" when none of its items was shown.

pyreadstat (and pandas, its data frames) are imported here, when a file is written, so nothing else loads them.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from instrument import Instrument, Question, question_type

from .columns import Column, export_columns, row_reader
from .model import Answers
from .tabular.saving import replacing

FORMATS = ("sav", "dta")
NOT_SHOWN, NO_ANSWER = -8, -9
MISSING_LABELS = {"not_shown": "Not shown", "no_answer": "Shown, not answered"}
STATA_CODES = {"not_shown": "a", "no_answer": "b"}
# Variable names both programs accept: a letter first, letters, digits and '_', at most 32 characters (Stata's
# limit; SPSS allows 64), none of either program's reserved words.
NAME_LIMIT = 32
RESERVED = {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with", "_all", "_b", "_n",
            "_pi", "_rc", "_se", "byte", "double", "float", "if", "in", "int", "long", "str", "strl", "using"}
LABEL_LIMIT = {"sav": 256, "dta": 80}
VALUE_LABEL_LIMIT = {"sav": 120, "dta": 32000}


@dataclass
class Variable:
    """One variable of the file: its name, label, kind and values as read from the answers."""

    name: str
    label: str
    kind: str  # coded, flag, number, date, text
    column: Column
    codes: dict[str, int] = field(default_factory=dict)  # option code -> number (coded)
    labels: dict[int, str] = field(default_factory=dict)
    values: list[Any] = field(default_factory=list)  # the value, or "not_shown" / "no_answer"


def variable_name(header: str, taken: set[str]) -> str:
    """Return a name for the raw header *header* that SPSS and Stata both accept and that is not in *taken*."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", header)
    if not re.match(r"[A-Za-z]", name):
        name = "v_" + name
    name = name[:NAME_LIMIT]
    if name.casefold() in RESERVED:
        name += "_"
    base, n = name, 2
    while name.casefold() in taken:
        suffix = f"_{n}"
        name, n = base[: NAME_LIMIT - len(suffix)] + suffix, n + 1
    taken.add(name.casefold())
    return name


def _codes(q: Question) -> dict[str, int]:
    options = list(q.choices)
    if all(o.code.isdigit() for o in options):
        codes = {o.code: int(o.code) for o in options}
    else:
        codes = {o.code: i for i, o in enumerate(options, start=1)}
    if q.other:
        codes["other"] = max(codes.values(), default=0) + 1
    return codes


def _label(column: Column) -> str:
    q = column.question
    if column.kind == "flag":
        return f"{q.text} - {q.label_of(column.key)}"
    if column.kind == "item":
        item = next(i for i in q.items if i.id == column.key)
        return f"{q.text} - {item.text}"
    if column.kind == "other_text":
        return f"{q.text} - Other (text)"
    if column.kind == "rank":
        return f"{q.text} - rank {column.key}"
    return q.text


def _kind(column: Column) -> str:
    if column.kind == "flag":
        return "flag"
    if column.kind == "other_text" or column.is_text:
        return "text"
    if column.is_date:
        return "date"
    if column.question.choices:
        return "coded"
    return "number"


def _variables(instrument: Instrument) -> list[Variable]:
    taken: set[str] = set()
    found = []
    for column in export_columns(instrument, split_text=False):
        kind = _kind(column)
        var = Variable(variable_name(column.header, taken), _label(column), kind, column)
        if kind == "coded":
            var.codes = _codes(column.question)
            var.labels = {n: column.question.label_of(code) for code, n in var.codes.items()}
        elif kind == "flag":
            var.labels = {1: "Chosen", 0: "Not chosen"}
        found.append(var)
    return found


def _state(answers: Answers, column: Column) -> str | None:
    """Return "not_shown" or "no_answer" when the column's question has no answer in *answers*, else None."""
    if column.score is not None:
        # a score is missing when too many of its items are: "not shown" only when none of them was shown
        shown = any(item.question in answers for item in column.score.items)
        return "no_answer" if shown else "not_shown"
    qid = column.question.id
    if qid not in answers:
        return "not_shown"
    if answers[qid] is None or answers[qid] == [] or answers[qid] == {}:
        return "no_answer"
    return None


def _collect(variables: list[Variable], responses: Iterable[Answers]) -> int:
    read = row_reader([v.column for v in variables])
    count = 0
    for answers in responses:
        for var, value in zip(variables, read(answers), strict=True):
            var.values.append(_value(var, answers, value))
        count += 1
    return count


def _value(var: Variable, answers: Answers, value: Any) -> Any:
    state = _state(answers, var.column)
    if var.kind == "flag":
        return "not_shown" if state == "not_shown" else value  # 0/1 once shown, as the raw data
    if value is None or value == "":
        if var.kind == "text":
            return ""
        return state or "no_answer"  # shown, answered, but not this statement or rank
    if var.kind == "coded":
        return var.codes[str(value)]
    if var.kind == "date":
        return dt.date.fromisoformat(value) if isinstance(value, str) else value
    return value


def _missing_codes(var: Variable) -> tuple[float, float]:
    """Return the SPSS (not shown, no answer) codes of a numeric variable: -8, -9 unless an answer reaches them."""
    if var.kind != "number":
        return NOT_SHOWN, NO_ANSWER
    numbers = [v for v in var.values if isinstance(v, int | float)]
    lowest = min(numbers, default=0)
    if lowest > NOT_SHOWN:
        return NOT_SHOWN, NO_ANSWER
    below = math.floor(lowest) - 1
    return below, below - 1


def _frame_sav(variables: list[Variable]) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    columns: dict[str, Any] = {}
    options: dict[str, Any] = {"column_labels": {}, "variable_value_labels": {}, "missing_ranges": {},
                               "variable_measure": {}}
    for var in variables:
        options["column_labels"][var.name] = var.label[: LABEL_LIMIT["sav"]]
        if var.kind in ("text", "date"):
            values = [None if v in MISSING_LABELS else v for v in var.values] if var.kind == "date" else var.values
            columns[var.name] = pd.Series(values, dtype=object)
            options["variable_measure"][var.name] = "nominal"
            continue
        not_shown, no_answer = _missing_codes(var)
        codes = {"not_shown": not_shown, "no_answer": no_answer}
        columns[var.name] = pd.Series([codes.get(v, v) if isinstance(v, str) else v for v in var.values],
                                      dtype="float64")
        labels = {float(n): text[: VALUE_LABEL_LIMIT["sav"]] for n, text in var.labels.items()}
        labels.update({float(codes[k]): text for k, text in MISSING_LABELS.items()})
        options["variable_value_labels"][var.name] = labels
        options["missing_ranges"][var.name] = [float(not_shown), float(no_answer)]
        measure = {"coded": "ordinal" if question_type(var.column.question.type).summary == "likert" else "nominal",
                   "flag": "nominal", "number": "scale"}
        options["variable_measure"][var.name] = measure[var.kind]
    return pd.DataFrame(columns), options


def _frame_dta(variables: list[Variable]) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    columns: dict[str, Any] = {}
    options: dict[str, Any] = {"column_labels": {}, "variable_value_labels": {}, "missing_user_values": {}}
    for var in variables:
        options["column_labels"][var.name] = var.label[: LABEL_LIMIT["dta"]]
        if var.kind == "text":
            columns[var.name] = pd.Series(var.values, dtype=object)
            continue
        values = [STATA_CODES[v] if isinstance(v, str) else v for v in var.values]
        columns[var.name] = pd.Series(values, dtype=object)
        options["missing_user_values"][var.name] = list(STATA_CODES.values())
        if var.kind != "date":  # a date shows as a date; labels would hide it
            labels: dict[Any, str] = dict(var.labels)
            labels.update({STATA_CODES[k]: text for k, text in MISSING_LABELS.items()})
            options["variable_value_labels"][var.name] = labels
    return pd.DataFrame(columns), options


def write_statfile(path: str | os.PathLike[str], instrument: Instrument, responses: Iterable[Answers],
                   fmt: str, title: str = "") -> int:
    """Write one row per response to *path* as SPSS ('sav') or Stata ('dta'), atomically; return the rows."""
    if fmt not in FORMATS:
        raise ValueError(f"no statistics file format '{fmt}' ({', '.join(FORMATS)})")
    import pyreadstat

    variables = _variables(instrument)
    count = _collect(variables, responses)
    label = (title or instrument.title)[:80]
    with replacing(path) as temporary:
        if fmt == "sav":
            frame, options = _frame_sav(variables)
            pyreadstat.write_sav(frame, temporary, file_label=label, **options)
        else:
            frame, options = _frame_dta(variables)
            pyreadstat.write_dta(frame, temporary, file_label=label, **options)
    return count
