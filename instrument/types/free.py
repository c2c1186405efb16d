"""The types answered in the respondent's own words or figures: text, number, date."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from ..messages import N_, Message
from ..model import Question
from ..qtype import Catalog, FormData, QuestionType
from ..yamlcheck import Ctx, flag, number, words
from ..yamlsource import LineDict
from .choice import COMPARE

DEFAULT_TEXT_LIMIT = 2000
# The days a date answer may hold: anything else is a typo or another system's placeholder (9999-12-31), and one
# such record would stretch every month-by-month table to millennia.
FIRST_DAY = dt.date(1990, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)


def _read_text(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> dict[str, Any]:
    fields: dict[str, Any] = {"long": flag(ctx, node, "long", qid), "coding": flag(ctx, node, "coding", qid)}
    limit = node.get("max_length", DEFAULT_TEXT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
        raise ctx.fail(node.line_of("max_length"), "max_length must be a whole number from 1 to 100000", qid)
    return {**fields, "max_length": limit}


def _read_number(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> dict[str, Any]:
    integer = flag(ctx, node, "integer", qid)
    lo, hi = number(ctx, node, "min", qid), number(ctx, node, "max", qid)
    unit = words(ctx, node, "unit", qid=qid)
    if lo is not None and hi is not None and lo > hi:
        raise ctx.fail(node.line_of("min"), "min is greater than max", qid)
    return {"integer": integer, "minimum": lo, "maximum": hi, "unit": unit}


def _read_nothing(ctx: Ctx, node: LineDict, qid: str, catalog: Catalog) -> dict[str, Any]:
    return {}


def _parse_text(q: Question, form: FormData) -> tuple[Any, str]:
    raw = (form.get(q.id) or "").replace("\r\n", "\n").strip()
    if len(raw) > q.max_length:
        return raw, Message("Keep this under %(limit)s characters (now %(now)s).", limit=q.max_length, now=len(raw))
    return raw or None, ""


def _figure(x: float) -> int | float:
    # A whole bound reads "50", not "50.0", in every language.
    return int(x) if float(x).is_integer() else x


def _parse_number(q: Question, form: FormData) -> tuple[Any, str]:
    raw = (form.get(q.id) or "").strip()
    if not raw:
        return None, ""
    figure = raw.replace(",", ".") if q.integer is False else raw
    try:
        value: float | int = int(figure) if q.integer else float(figure)
    except ValueError:
        return raw, N_("Enter a whole number.") if q.integer else N_("Enter a number.")
    if isinstance(value, float) and not math.isfinite(value):
        return raw, N_("Enter a number.")
    if q.minimum is not None and value < q.minimum:
        return raw, Message("Enter a number of at least %(min)s.", min=_figure(q.minimum))
    if q.maximum is not None and value > q.maximum:
        return raw, Message("Enter a number of at most %(max)s.", max=_figure(q.maximum))
    return value, ""


def _parse_date(q: Question, form: FormData) -> tuple[Any, str]:
    raw = (form.get(q.id) or "").strip()
    if not raw:
        return None, ""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return raw, N_("Enter a date as YYYY-MM-DD.")
    if not FIRST_DAY <= day <= LAST_DAY:
        return raw, Message("Enter a date from %(first)s to %(last)s.", first=FIRST_DAY.isoformat(),
                            last=LAST_DAY.isoformat())
    return day.isoformat(), ""


TEXT = QuestionType("text", frozenset({"long", "max_length", "coding"}), _read_text, _parse_text, COMPARE,
                    columns="text", summary="text", cells="text")
NUMBER = QuestionType("number", frozenset({"integer", "min", "max", "unit"}), _read_number, _parse_number, COMPARE,
                      columns="value", summary="number", cells="raw")
DATE = QuestionType("date", frozenset(), _read_nothing, _parse_date, COMPARE,
                    columns="date", summary="date", cells="raw")
