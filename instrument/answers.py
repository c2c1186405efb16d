"""Check submitted answers against an instrument, on the server, whatever the browser did.

Stored answers are a dict keyed by question id. A key is present exactly when the question was shown
to the respondent; its value is None when a shown question was left unanswered. So "not shown" and
"shown but unanswered" stay apart, and every table can use the right denominator.
Values: single_choice -> option code; multiple_choice -> list of codes in option order;
likert -> int level (single item) or {item id: int level or None} (matrix); text -> str;
number -> int or float; date -> "YYYY-MM-DD". An "Other, please specify" text is kept under
"<question id>.other".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Protocol

from .model import Condition, Instrument, Question, Section


class FormData(Protocol):
    """What is read of a posted form (werkzeug's MultiDict has it)."""

    def get(self, key: str, /) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


def _as_texts(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, list):
        return {str(v) for v in value}
    return {str(value)}


def condition_holds(cond: Condition, answers: Mapping[str, Any]) -> bool:
    """Say whether *cond* holds on *answers*; an unanswered or hidden question satisfies nothing."""
    if cond.op == "all":
        return all(condition_holds(p, answers) for p in cond.parts)
    if cond.op == "any":
        return any(condition_holds(p, answers) for p in cond.parts)
    value = answers.get(cond.question)
    if value is None or value == [] or value == "":
        return False
    given = _as_texts(value)
    if cond.op == "answered":
        return True
    if cond.op == "equals":
        return given == set(cond.values)
    if cond.op == "not_equals":
        return given != set(cond.values)
    if cond.op == "in":
        return bool(given & set(cond.values))
    if cond.op == "includes":
        return set(cond.values) <= given
    raise ValueError(f"unknown condition {cond.op}")


def is_shown(question: Question, answers: Mapping[str, Any]) -> bool:
    """Say whether *question* is shown given the answers so far."""
    return question.show_if is None or condition_holds(question.show_if, answers)


def _is_empty(value: Any) -> bool:
    if value is None or value == "" or value == []:
        return True
    return isinstance(value, dict) and all(v is None for v in value.values())


def _parse_number(q: Question, raw: str) -> tuple[Any, str]:
    text = raw.strip().replace(",", ".") if q.integer is False else raw.strip()
    try:
        value: float | int = int(text) if q.integer else float(text)
    except ValueError:
        return None, "Enter a whole number." if q.integer else "Enter a number."
    if isinstance(value, float) and not math.isfinite(value):
        return None, "Enter a number."
    if q.minimum is not None and value < q.minimum:
        return None, f"Enter a number of at least {_fmt(q.minimum)}."
    if q.maximum is not None and value > q.maximum:
        return None, f"Enter a number of at most {_fmt(q.maximum)}."
    return value, ""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_question(q: Question, form: FormData) -> tuple[dict[str, Any], str]:
    """Read one question's posted fields; return the values to store and an error message or ''."""
    codes = {o.code for o in q.choices}
    out: dict[str, Any] = {}
    if q.type == "single_choice":
        raw = (form.get(q.id) or "").strip()
        if raw and raw not in codes and not (q.other and raw == "other"):
            return {q.id: None}, "Choose one of the options."
        out[q.id] = raw or None
    elif q.type == "multiple_choice":
        picked = [v.strip() for v in form.getlist(q.id) if v.strip()]
        allowed = codes | ({"other"} if q.other else set())
        if any(p not in allowed for p in picked):
            return {q.id: None}, "Choose among the options shown."
        order = [o.code for o in q.choices] + ["other"]
        out[q.id] = [c for c in order if c in picked]
    elif q.type == "likert":
        def level(raw: str | None) -> tuple[int | None, bool]:
            raw = (raw or "").strip()
            if not raw:
                return None, True
            return (int(raw), True) if raw in codes else (None, False)

        if q.items:
            matrix: dict[str, int | None] = {}
            for item in q.items:
                value, ok = level(form.get(f"{q.id}__{item.id}"))
                if not ok:
                    return {q.id: None}, "Choose one point of the scale for each statement."
                matrix[item.id] = value
            out[q.id] = matrix
        else:
            value, ok = level(form.get(q.id))
            if not ok:
                return {q.id: None}, "Choose one point of the scale."
            out[q.id] = value
    elif q.type == "text":
        raw = (form.get(q.id) or "").replace("\r\n", "\n").strip()
        if len(raw) > q.max_length:
            return {q.id: raw}, f"Keep this under {q.max_length} characters (now {len(raw)})."
        out[q.id] = raw or None
    elif q.type == "number":
        raw = (form.get(q.id) or "").strip()
        if not raw:
            out[q.id] = None
        else:
            value, error = _parse_number(q, raw)
            if error:
                return {q.id: raw}, error
            out[q.id] = value
    elif q.type == "date":
        raw = (form.get(q.id) or "").strip()
        if not raw:
            out[q.id] = None
        else:
            try:
                out[q.id] = dt.date.fromisoformat(raw).isoformat()
            except ValueError:
                return {q.id: raw}, "Enter a date as YYYY-MM-DD."
    if q.other and q.type in ("single_choice", "multiple_choice"):
        chosen = _as_texts(out[q.id])
        other_text = (form.get(f"{q.id}__other") or "").strip()
        if "other" in chosen:
            if len(other_text) > 500:
                return out, "Keep the 'other' answer under 500 characters."
            out[f"{q.id}.other"] = other_text or None
    return out, ""


def missing_required(q: Question, value: Any) -> str:
    """Return the message for a required question left empty, or ''."""
    if not q.required:
        return ""
    if q.type == "likert" and q.items and isinstance(value, dict):
        return "Answer every statement." if any(v is None for v in value.values()) else ""
    if _is_empty(value):
        return "Choose at least one option." if q.type == "multiple_choice" else "This question needs an answer."
    return ""


def parse_section(section: Section, form: FormData, earlier: Mapping[str, Any]
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate one page: return (answers of the questions shown, errors by question id)."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in section.questions:
        if not is_shown(q, {**earlier, **answers}):
            continue
        values, error = parse_question(q, form)
        answers.update(values)
        error = error or missing_required(q, values.get(q.id))
        if error:
            errors[q.id] = error
    return answers, errors


def settle(instrument: Instrument, answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Keep only answers to questions shown, in order; return them with errors for required ones missing."""
    kept: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in instrument.questions:
        if not is_shown(q, kept):
            continue
        kept[q.id] = answers.get(q.id)
        other_key = f"{q.id}.other"
        if other_key in answers and "other" in _as_texts(kept[q.id]):
            kept[other_key] = answers[other_key]
        error = missing_required(q, kept[q.id])
        if error:
            errors[q.id] = error
    return kept, errors


def prune(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Drop answers to questions that the other answers now hide (an earlier answer was changed)."""
    kept: dict[str, Any] = {}
    for q in instrument.questions:
        if q.id in answers and is_shown(q, kept):
            kept[q.id] = answers[q.id]
            if f"{q.id}.other" in answers:
                kept[f"{q.id}.other"] = answers[f"{q.id}.other"]
    return kept


def possible_sections(instrument: Instrument, answers: Mapping[str, Any]) -> list[Section]:
    """Return the sections that are shown or may still be, for an honest "page i of n"."""
    answers = prune(instrument, answers)
    possible = []
    for section in instrument.sections:
        for q in section.questions:
            undecided = q.show_if is not None and not q.show_if.questions() <= answers.keys()
            if undecided or is_shown(q, answers):
                possible.append(section)
                break
    return possible


def visible_sections(instrument: Instrument, answers: Mapping[str, Any]) -> list[Section]:
    """Return the sections with at least one question that can be shown given *answers*."""
    answers = prune(instrument, answers)
    shown: list[Section] = []
    for section in instrument.sections:
        # A question depending on a later answer in the same section may still appear once that is given,
        # so a section counts as visible when any of its questions is shown or depends on its own page.
        own = {q.id for q in section.questions}
        for q in section.questions:
            if is_shown(q, answers) or (q.show_if and q.show_if.questions() & own):
                shown.append(section)
                break
    return shown
