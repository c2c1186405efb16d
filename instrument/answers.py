"""Check submitted answers against an instrument, on the server, whatever the browser did.

Stored answers are a dict keyed by question id. A key is present exactly when the question was shown
to the respondent; its value is None when a shown question was left unanswered. So "not shown" and
"shown but unanswered" stay apart, and every table can use the right denominator.
Values: single_choice -> option code; multiple_choice -> list of codes in option order;
likert -> int level (single item) or {item id: int level or None} (matrix); text -> str;
number -> int or float; date -> "YYYY-MM-DD"; ranking -> list of codes in rank order.
An "Other, please specify" text is kept under "<question id>.other".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .messages import N_
from .model import LANGUAGE_QUESTION, Condition, Instrument, Question, Section
from .qtype import FormData
from .types import question_type


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


def parse_question(q: Question, form: FormData) -> tuple[dict[str, Any], str]:
    """Read one question's posted fields; return the values to store and an error message or ''."""
    value, error = question_type(q.type).parse(q, form)
    out: dict[str, Any] = {q.id: value}
    if error:
        return out, error
    if q.other and "other" in _as_texts(value):
        other_text = (form.get(f"{q.id}__other") or "").strip()
        if len(other_text) > 500:
            return out, N_("Keep the 'other' answer under 500 characters.")
        out[f"{q.id}.other"] = other_text or None
    return out, ""


def missing_required(q: Question, value: Any) -> str:
    """Return the message for a required question left empty, or ''."""
    return question_type(q.type).missing(q, value)


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
        if q.id == LANGUAGE_QUESTION and not q.section and q.id not in answers:
            continue  # the built-in language question is asked by the web pages only; an import has no answer
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
