"""The respondent's pages: intro and consent, one page per section, thank-you. No login, no tracking."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as WebResponse

from instrument import Instrument, Section, parse_section, settle, visible_sections
from instrument.answers import is_shown, possible_sections, prune
from instrument.types.ranking import ordinal

from . import drafts
from .db import get_session
from .drafts import OpenDraft
from .invitations import links as invite_links
from .invitations.parking import mix_after_answer, park, still_open
from .invitations.storage import mark_answered
from .models import Response, Survey
from .surveys import instrument_of

bp = Blueprint("respond", __name__, url_prefix="/s")
bp.add_app_template_filter(ordinal, "ordinal")  # "1st choice", "2nd choice" on a ranking question


def _survey_or_page(slug: str) -> tuple[Survey, Instrument] | WebResponse | str:
    survey = get_session().get(Survey, slug)
    if survey is None:
        abort(404, f"There is no survey at this address ({slug}). Check the link you were sent.")
    state = survey.state()
    if state != "open":
        return make_response(render_template("respond/closed.html", survey=survey, state=state), 410)
    if survey.mode == "invitation":
        blocked = invite_links.gate(survey)
        if blocked is not None:
            return blocked
    return survey, instrument_of(survey)


def _draft(slug: str) -> OpenDraft | None:
    return drafts.current(get_session(), slug, invite_links.bound_key(slug))


@bp.get("/<slug>")
def intro(slug: str) -> Any:
    """Show the survey's introduction and consent, with a button to begin."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    return render_template("respond/intro.html", survey=survey, inst=inst, resume=_draft(slug) is not None)


@bp.post("/<slug>/start")
def start(slug: str) -> Any:
    """Open a fresh answer sheet (or resume the one in progress) and go to the first page."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    draft = _draft(slug)
    if draft is None:
        draft = drafts.start(get_session(), slug, invite_links.bound_key(slug))
    first = visible_sections(inst, draft.answers)[0]
    return redirect(url_for("respond.page", slug=slug, section_id=first.id))


def _section(inst: Instrument, section_id: str) -> Section:
    for section in inst.sections:
        if section.id == section_id:
            return section
    abort(404, "This page is not part of the survey.")


def _client_conditions(section: Section, answers: dict[str, Any]) -> dict[str, Any]:
    """Return what the page's script needs to show and hide questions that depend on this page."""
    own = {q.id for q in section.questions}
    rules = {q.id: _condition_json(q.show_if) for q in section.questions
             if q.show_if is not None and q.show_if.questions() & own}
    earlier = {k: v for k, v in answers.items() if k not in own}
    return {"rules": rules, "earlier": earlier}


def _condition_json(cond: Any) -> dict[str, Any]:
    return {"op": cond.op, "question": cond.question, "values": list(cond.values),
            "parts": [_condition_json(p) for p in cond.parts]}


def _render_page(inst: Instrument, survey: Survey, section: Section, answers: dict[str, Any],
                 errors: dict[str, str], status: int = 200) -> Any:
    sections = possible_sections(inst, answers)
    position = next((i for i, s in enumerate(sections) if s.id == section.id), 0)
    own = {q.id for q in section.questions}
    # Questions that hang on an answer of this same page are sent along: the script (or, without
    # JavaScript, the respondent reading "Only if ...") decides; the server checks again on submit.
    same_page = {q.id for q in section.questions if q.show_if is not None and q.show_if.questions() & own}
    shown = {q.id for q in section.questions if q.id in same_page or is_shown(q, answers)}
    return render_template(
        "respond/page.html", survey=survey, inst=inst, section=section, answers=answers, errors=errors,
        shown=shown, same_page=same_page, position=position + 1, total=len(sections),
        is_last=visible_sections(inst, answers)[-1].id == section.id,
        client=_client_conditions(section, answers),
    ), status


@bp.get("/<slug>/p/<section_id>")
def page(slug: str, section_id: str) -> Any:
    """Show one section with the answers given so far."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    draft = _draft(slug)
    if draft is None:
        return redirect(url_for("respond.intro", slug=slug))
    return _render_page(inst, survey, _section(inst, section_id), draft.answers, {})


@bp.post("/<slug>/p/<section_id>")
def submit_page(slug: str, section_id: str) -> Any:
    """Check one page on the server; keep its answers; go back, forward, or finish."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    draft = _draft(slug)
    if draft is None:
        if session.get(f"done:{slug}") or drafts.finished_elsewhere(get_session(), slug):
            return redirect(url_for("respond.thanks", slug=slug))
        return redirect(url_for("respond.intro", slug=slug))
    section = _section(inst, section_id)
    own = {q.id for q in section.questions}
    earlier = {k: v for k, v in draft.answers.items() if k.split(".")[0] not in own}
    values, errors = parse_section(section, request.form, earlier)
    going_back = request.form.get("action") == "back"
    if errors and not going_back:
        return _render_page(inst, survey, section, {**earlier, **values}, errors, 422)
    if not errors and not drafts.save(get_session(), draft, prune(inst, {**earlier, **values})):
        # Gone since this request read it: a concurrent submission of the last page (a double click) finished it.
        return redirect(url_for("respond.thanks", slug=slug))
    sections = visible_sections(inst, draft.answers)
    ids = [s.id for s in sections]
    index = ids.index(section.id) if section.id in ids else 0
    if going_back:
        target = sections[max(index - 1, 0)]
        return redirect(url_for("respond.page", slug=slug, section_id=target.id))
    if index + 1 < len(sections):
        return redirect(url_for("respond.page", slug=slug, section_id=sections[index + 1].id))
    return _finish(survey, inst, draft)


def _finish(survey: Survey, inst: Instrument, draft: OpenDraft) -> Any:
    answers, errors = settle(inst, draft.answers)
    if errors:
        first = next(q for q in inst.questions if q.id in errors)
        return redirect(url_for("respond.page", slug=survey.slug, section_id=first.section))
    db = get_session()
    db.commit()
    # Deleting the draft and storing the answers commit together: a resent form finds no draft and stores
    # nothing, and a concurrent second request waits on the row and then deletes zero rows.
    if not drafts.discard(db, draft):
        db.rollback()
        return redirect(url_for("respond.thanks", slug=survey.slug))
    if survey.mode == "invitation":
        # The invitation is burnt and the answers parked, sealed, in this one transaction; the mixer stores them
        # later in a shuffled batch (invitations/parking.py), so no transaction pairs the two readably.
        if not still_open(db, survey.slug):
            db.rollback()
            return make_response(render_template("respond/closed.html", survey=survey, state="closed"), 410)
        if not mark_answered(db, invite_links.bound_key(survey.slug) or ""):
            db.rollback()
            drafts.forget(survey.slug)
            return make_response(render_template("invite/answered.html", survey=survey), 410)
        park(db, survey, answers)
    else:
        version = survey.instrument_version
        db.add(Response(survey_slug=survey.slug, instrument_id=version.instrument_id,
                        instrument_version=version.version, instrument_sha256=version.sha256,
                        submitted_on=dt.date.today(), answers=answers))
    db.commit()
    if survey.mode == "invitation":
        invite_links.forget(survey.slug)
        mix_after_answer(db, survey)
    drafts.forget(survey.slug)
    session[f"done:{survey.slug}"] = True
    return redirect(url_for("respond.thanks", slug=survey.slug))


@bp.get("/<slug>/thanks")
def thanks(slug: str) -> Any:
    """Thank the respondent."""
    survey = get_session().get(Survey, slug)
    if survey is None:
        abort(404, "There is no survey at this address.")
    return render_template("respond/thanks.html", survey=survey, inst=instrument_of(survey))
