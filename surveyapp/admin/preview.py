"""The instrument preview: the respondent's pages of a text, page by page with skip logic, storing nothing.

The answers so far ride in the page's form (a hidden JSON field) and the text in another when it is not saved
yet, so the preview works without JavaScript, keeps no draft and writes no row. Each page is checked and
rendered by the respondent's own code (``respond.check_page``, ``respond.render_page``) and templates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import render_template

from instrument import Instrument, Section, settle, visible_sections
from instrument.answers import prune

from ..respond import check_page, render_page

# The answers of one preview travel in the form; a larger value is not a preview's and is dropped.
MAX_ANSWERS_CHARS = 200_000


@dataclass(frozen=True)
class PreviewSurvey:
    """What the respondent's templates read of a survey, for a text that is no survey yet."""

    title: str
    slug: str = "preview"


def _answers(raw: str | None) -> dict[str, Any]:
    if not raw or len(raw) > MAX_ANSWERS_CHARS:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _page(inst: Instrument, section: Section, answers: dict[str, Any], errors: dict[str, str],
          action: str, carried: dict[str, str]) -> Any:
    fields = {**carried, "answers": json.dumps(answers, sort_keys=True), "section": section.id}
    return render_page(inst, PreviewSurvey(inst.title), section, answers, errors,
                       template="admin/preview_page.html", form_action=action, carried=fields, investigator=None)


def preview(inst: Instrument, form: Any, action: str, carried: dict[str, str]) -> Any:
    """Show the page the preview's *form* leads to: page 1 when it holds none; the next, previous or same page.

    *action* is where the page posts to; *carried* the hidden fields it keeps (the unsaved text).
    """
    sections = {s.id: s for s in inst.sections}
    section = sections.get(form.get("section") or "")
    if section is None:
        return _page(inst, visible_sections(inst, {})[0], {}, {}, action, carried)
    before = _answers(form.get("answers"))
    own = {q.id for q in section.questions}
    earlier = {k: v for k, v in before.items() if k.split(".")[0] not in own}
    values, errors = check_page(section, form, earlier)
    going_back = form.get("action") == "back"
    if errors and not going_back:
        return _page(inst, section, {**earlier, **values}, errors, action, carried)
    answers = before if errors else prune(inst, {**earlier, **values})
    shown = visible_sections(inst, answers)
    ids = [s.id for s in shown]
    index = ids.index(section.id) if section.id in ids else 0
    if going_back:
        return _page(inst, shown[max(index - 1, 0)], answers, {}, action, carried)
    if index + 1 < len(shown):
        return _page(inst, shown[index + 1], answers, {}, action, carried)
    settled, missing = settle(inst, answers)
    if missing:
        first = next(q for q in inst.questions if q.id in missing)
        return _page(inst, sections[first.section], answers, {}, action, carried)
    return render_template("admin/preview_done.html", inst=inst, survey=PreviewSurvey(inst.title),
                           answers=settled, restart=action, carried=carried, investigator=None)
