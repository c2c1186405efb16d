"""The respondent's pages: intro and consent, one page per section, thank-you. No login, no tracking."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import (
    Blueprint,
    abort,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import insert
from werkzeug.wrappers import Response as WebResponse

from instrument import Condition, Instrument, Section, parse_section, settle, visible_sections
from instrument.answers import condition_holds, is_shown, possible_sections, prune
from instrument.messages import N_, Message, as_message
from instrument.model import LANGUAGE_QUESTION
from instrument.types import question_type

from . import drafts, languages
from .db import get_session, use_orm
from .db import request_db as _db
from .drafts import OpenDraft
from .invitations import links as invite_links
from .invitations.parking import mix_after_answer, park, still_open
from .invitations.storage import mark_answered
from .models import Response
from .published import Published, published_with_draft
from .studies.linking import new_panel_code, random_code_question, study_id_of_invitation
from .surveys import instrument_of
from .testmode import store_test_answer, testing

bp = Blueprint("respond", __name__, url_prefix="/s")

# The session key holding a refused page's answers and errors until it is sent again; and how large (JSON
# characters) those answers may be to ride in the cookie, which browsers drop beyond 4 KB.
_PENDING = "refused:{}"
OTHER_NEEDS_TEXT = N_("Say what 'Other' is.")
PENDING_LIMIT = 2500
TEST_BINDING = "test"  # a test link's draft: sealed under this context, never an invitation's
# An open survey's final submission stores its row with this (built once; the key is Response.key's default).
_STORE = insert(Response)


@bp.app_template_filter("only_if")
def only_if(cond: Condition, inst: Instrument) -> str:
    """Say, in the respondent's words (question text and option labels, never ids), when a question applies."""
    if cond.op in ("all", "any"):
        joiner = _(" and ") if cond.op == "all" else _(" or ")
        return joiner.join(only_if(p, inst) for p in cond.parts)
    asked = next((q for q in inst.questions if q.id == cond.question), None)
    if asked is None:  # the parser refuses such a condition; say nothing wrong rather than fail the page
        return _("an earlier answer allows it")
    other = _("Other")
    labels = [f"“{other if v == 'other' else asked.label_of(v)}”" for v in cond.values]
    question = f"“{asked.text}”"
    if cond.op == "answered":
        return _("you answered %(question)s", question=question)
    if cond.op == "not_equals":
        return _("you did not answer %(answers)s to %(question)s", answers=_(" and ").join(labels),
                 question=question)
    if cond.op == "includes":
        return _("you chose %(answers)s in %(question)s", answers=_(" and ").join(labels), question=question)
    return _("you answered %(answers)s to %(question)s", answers=_(" or ").join(labels), question=question)


def _survey_or_page(slug: str) -> tuple[Published, Instrument] | WebResponse | str:
    survey = _survey(slug)
    inst = languages.choose(instrument_of(survey, _db()), slug, survey.title)
    state = survey.state()
    # The team's test link opens the pages before the survey does and without an invitation (never once closed).
    test = testing(survey)
    if test or survey.mode == "invitation":  # their steps load and add ORM objects
        use_orm()
    if state != "open" and not (test and state == "not_yet_open"):
        return make_response(render_template("respond/closed.html", survey=survey, state=state), 410)
    if survey.mode == "invitation" and not test:
        blocked = invite_links.gate(survey)
        if blocked is not None:
            return blocked
    return survey, inst


def _survey(slug: str) -> Published:
    # The browser's draft is read with the survey (one statement); _draft uses that row.
    draft_id = drafts.held_id(slug)
    survey, row = published_with_draft(_db(), slug, draft_id)
    g.surveykit_draft_row = (slug, draft_id, row)
    if survey is None:
        languages.use_browser_language()
        abort(404, _("There is no survey at this address (%(slug)s). Check the link you were sent.", slug=slug))
    return survey


def _binding(slug: str) -> str | None:
    """Return what this browser's draft is bound to: its invitation's key, or "test" through the test link."""
    return TEST_BINDING if g.get("test_mode") else invite_links.bound_key(slug)


def _draft(slug: str) -> OpenDraft | None:
    """Return this browser's draft of *slug*, from the row read with the survey (see _survey)."""
    read_slug, read_id, row = g.get("surveykit_draft_row", (None, None, None))
    return drafts.current(_db(), slug, _binding(slug), (read_id, row) if read_slug == slug else None)


@bp.get("/<slug>")
def intro(slug: str) -> Any:
    """Show the survey's introduction and consent, with a button to begin."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    return render_template("respond/intro.html", survey=survey, inst=inst, resume=_draft(slug) is not None,
                           languages=inst.languages if len(inst.languages) > 1 else ())


@bp.post("/<slug>/start")
def start(slug: str) -> Any:
    """Open a fresh answer sheet (or resume the one in progress) and go to the first page."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    draft = _draft(slug)
    if draft is None:
        draft = drafts.start(_db(), slug, _binding(slug))
    return redirect(url_for("respond.page", slug=slug, section_id=_resume_at(inst, draft.answers).id))


def _resume_at(inst: Instrument, answers: dict[str, Any]) -> Section:
    """Return the page to open a sheet at: the first shown page with nothing answered yet (the last page when
    every one has an answer), so a sheet begun on another device continues where it was left."""
    sections = visible_sections(inst, answers)
    answered = {key.split(".")[0] for key, value in answers.items() if value not in (None, "", [])}
    return next((s for s in sections if not {q.id for q in s.questions} & answered), sections[-1])


def _section(inst: Instrument, section_id: str) -> Section:
    for section in inst.sections:
        if section.id == section_id:
            return section
    abort(404, _("This page is not part of the survey."))


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


def _later_pages(inst: Instrument, section: Section, answers: dict[str, Any]) -> list[list[Condition] | None]:
    """Return, for each page that may still follow this one, None when it stays possible whatever is answered
    here, or the conditions on this page's answers of which one must hold (or be undecided) for it to be shown.
    """
    sections = possible_sections(inst, answers)
    ids = [s.id for s in sections]
    after = sections[ids.index(section.id) + 1:] if section.id in ids else sections
    own = {q.id for q in section.questions}
    earlier = {k: v for k, v in answers.items() if k.split(".")[0] not in own}
    later: list[list[Condition] | None] = []
    for following in after:
        conditions: list[Condition] = []
        always = False
        for q in following.questions:
            cond = q.show_if if q.show_if is None else _gate(inst, q.show_if, own, earlier)
            if cond is not None and cond.questions() & own:
                conditions.append(cond)
            elif cond is None or condition_holds(cond, earlier):
                always = True
                break
        if always or conditions:
            later.append(None if always else conditions)
    return later


def _gate(inst: Instrument, cond: Condition, own: set[str], earlier: dict[str, Any]) -> Condition | None:
    """Return a condition on this page's and earlier answers that must hold for *cond* to hold, or None when
    that depends on pages not answered yet.

    A condition reading an unanswered later question needs that question shown: its own condition is the gate
    (page 4 asks about interactions only if page 3 said there was one, which page 3 asks only if "aware").
    """
    later = cond.questions() - own - earlier.keys()
    if not later:
        return cond
    gates = []
    for qid in later:
        asked = next((q for q in inst.questions if q.id == qid), None)
        if asked is None or asked.show_if is None or asked.show_if.questions() - own - earlier.keys():
            return None
        gates.append(asked.show_if)
    return Condition("all", parts=tuple(gates))


def _more_pages(later: list[list[Condition] | None], section: Section, answers: dict[str, Any]) -> bool:
    """Say whether a page may follow: one always does, or one hangs on an answer of this page not yet given
    (then "Continue" is the honest word) or on one that holds."""
    def open_or_holds(cond: Condition) -> bool:
        unanswered = {q.id for q in section.questions if q.id in cond.questions()
                      and is_shown(q, answers) and answers.get(q.id) in (None, "", [])}
        return bool(unanswered) or condition_holds(cond, answers)
    return any(conds is None or any(open_or_holds(c) for c in conds) for conds in later)


def render_page(inst: Instrument, survey: object, section: Section, answers: dict[str, Any],
                errors: dict[str, Any], status: int = 200, template: str = "respond/page.html", **extra: Any) -> Any:
    """Render one page of *inst* with *answers* and *errors* (the instrument preview passes its own template,
    which extends the respondent's, and what its form carries)."""
    sections = possible_sections(inst, answers)
    position = next((i for i, s in enumerate(sections) if s.id == section.id), 0)
    later = _later_pages(inst, section, answers)
    client = {**_client_conditions(section, answers),
              "later": [None if conds is None else [_condition_json(c) for c in conds] for conds in later]}
    own = {q.id for q in section.questions}
    # Questions that hang on an answer of this same page are sent along: the script (or, without
    # JavaScript, the respondent reading "Only if ...") decides; the server checks again on submit.
    same_page = {q.id for q in section.questions if q.show_if is not None and q.show_if.questions() & own}
    shown = {q.id for q in section.questions if q.id in same_page or is_shown(q, answers)}
    return render_template(
        template, survey=survey, inst=inst, section=section, answers=answers, **extra,
        errors={qid: languages.say(message) for qid, message in errors.items()},
        shown=shown, same_page=same_page, position=position + 1, total=len(sections),
        # The last page is the one after which no page can follow given the answers so far (the script
        # updates the button as this page's answers change).
        is_last=not _more_pages(later, section, answers), client=client,
        # The "Other" error is put right in its text box; any other in the question's first field.
        targets={q.id: f"{q.id}-other-text" if errors.get(q.id) == OTHER_NEEDS_TEXT
                 else question_type(q.type).focus_id(q) for q in section.questions},
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
    section = _section(inst, section_id)
    pending = session.get(_PENDING.format(slug))
    if pending and pending.get("section") == section.id:
        own = {q.id for q in section.questions}
        earlier = {k: v for k, v in draft.answers.items() if k.split(".")[0] not in own}
        errors = {qid: as_message(message) for qid, message in pending["errors"].items()}
        return render_page(inst, survey, section, {**earlier, **pending["values"]}, errors)
    return render_page(inst, survey, section, draft.answers, {})


def check_page(section: Section, form: Any, earlier: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return one page's answers read from *form* and an error per question that is answered wrongly."""
    values, errors = parse_section(section, form, earlier)
    errors.update(_other_without_text(section, values, errors))
    return values, errors


def _other_without_text(section: Section, values: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Return an error for each question whose "Other" is ticked with nothing said about it."""
    found = {}
    for q in section.questions:
        picked = values.get(q.id)
        ticked = picked == "other" or (isinstance(picked, list) and "other" in picked)
        if q.other and ticked and q.id not in errors and not values.get(f"{q.id}.other"):
            found[q.id] = OTHER_NEEDS_TEXT
    return found


@bp.post("/<slug>/p/<section_id>")
def submit_page(slug: str, section_id: str) -> Any:
    """Check one page on the server; keep its answers; go back, forward, or finish."""
    found = _survey_or_page(slug)
    if not isinstance(found, tuple):
        return found
    survey, inst = found
    draft = _draft(slug)
    if draft is None:
        if session.get(f"done:{slug}") or drafts.finished_elsewhere(_db(), slug, _binding(slug)):
            return redirect(url_for("respond.thanks", slug=slug))
        return redirect(url_for("respond.intro", slug=slug))
    section = _section(inst, section_id)
    own = {q.id for q in section.questions}
    earlier = {k: v for k, v in draft.answers.items() if k.split(".")[0] not in own}
    values, errors = check_page(section, request.form, earlier)
    going_back = request.form.get("action") == "back"
    session.pop(_PENDING.format(slug), None)
    if errors and not going_back:
        # Post/Redirect/Get: the refused page is shown by a GET, so Back and reload never ask to resend a form.
        # What was typed rides in the session cookie until the page is sent again (never in the database);
        # when it would not fit in a cookie the page is shown at once instead (422).
        if len(json.dumps(values)) > PENDING_LIMIT:
            return render_page(inst, survey, section, {**earlier, **values}, errors, 422)
        session[_PENDING.format(slug)] = {"section": section.id, "values": values, "errors": {
            qid: message.parts() if isinstance(message, Message) else message for qid, message in errors.items()}}
        return redirect(url_for("respond.page", slug=slug, section_id=section.id), 303)
    def merge(stored: dict[str, Any]) -> dict[str, Any]:
        # This page's answers over the sheet as stored now: another device's pages saved meanwhile are kept.
        return prune(inst, {**{k: v for k, v in stored.items() if k.split(".")[0] not in own}, **values})

    if not errors and not drafts.save(_db(), draft, merge):
        # Gone since this request read it: a concurrent submission of the last page finished it (a double click
        # here gets thanks; another device holding the same link is told the link was used).
        if draft.done_id is None or drafts.finished_elsewhere(_db(), slug, _binding(slug)):
            return redirect(url_for("respond.thanks", slug=slug))
        return make_response(render_template("invite/answered.html", survey=survey), 410)
    sections = visible_sections(inst, draft.answers)
    ids = [s.id for s in sections]
    index = ids.index(section.id) if section.id in ids else 0
    if going_back:
        target = sections[max(index - 1, 0)]
        return redirect(url_for("respond.page", slug=slug, section_id=target.id))
    if index + 1 < len(sections):
        return redirect(url_for("respond.page", slug=slug, section_id=sections[index + 1].id))
    return _finish(survey, inst, draft)


def _finish(survey: Published, inst: Instrument, draft: OpenDraft) -> Any:
    given = draft.answers
    if len(inst.languages) > 1:
        # The language the survey was answered in is an answer to a built-in question: one more column.
        given = {**given, LANGUAGE_QUESTION: inst.language}
    answers, errors = settle(inst, given)
    if errors:
        first = next(q for q in inst.questions if q.id in errors)
        return redirect(url_for("respond.page", slug=survey.slug, section_id=first.section))
    db = _db()
    code_question = random_code_question(db, survey.slug)
    code = new_panel_code() if code_question else None
    if code_question:  # an anonymous panel's wave 1: a random code stored with the answers, shown to keep
        answers = {**answers, code_question: code}
    drafts.end_read(db)
    # Deleting the draft and storing the answers commit together: a resent form finds no draft and stores
    # nothing, and a concurrent second request waits on the row and then deletes zero rows.
    if not drafts.discard(db, draft):
        db.rollback()
        if draft.done_id is not None and not drafts.finished_elsewhere(db, survey.slug, _binding(survey.slug)):
            # Another device holding the same link sent the last page first.
            return make_response(render_template("invite/answered.html", survey=survey), 410)
        return redirect(url_for("respond.thanks", slug=survey.slug))
    test = bool(g.get("test_mode"))
    if test:  # a test answer: stored at once, marked; no invitation, no parking, no count touched
        store_test_answer(get_session(), survey, answers)  # the request's db (see use_orm)
    elif survey.mode == "invitation":
        # The invitation is burnt and the answers parked, sealed, in this one transaction; the mixer stores them
        # later in a shuffled batch (invitations/parking.py), so no transaction pairs the two readably.
        orm = get_session()  # the request's db here (see use_orm), with the ORM's methods
        if not still_open(orm, survey.slug):
            db.rollback()
            return make_response(render_template("respond/closed.html", survey=survey, state="closed"), 410)
        invitation_key = invite_links.bound_key(survey.slug) or ""
        if not mark_answered(orm, invitation_key):
            db.rollback()
            drafts.forget(survey.slug)
            return make_response(render_template("invite/answered.html", survey=survey), 410)
        park(orm, survey, answers, study_id_of_invitation(orm, survey.slug, invitation_key))
    else:
        version = survey.instrument_version
        db.connection().execute(_STORE, {
            "survey_slug": survey.slug, "instrument_id": version.instrument_id,
            "instrument_version": version.version, "instrument_sha256": version.sha256,
            "submitted_on": dt.date.today(), "answers": answers})
    db.commit()
    if survey.mode == "invitation" and not test:
        invite_links.forget(survey.slug)
        mix_after_answer(get_session(), survey)
    drafts.forget(survey.slug)
    session.pop(_PENDING.format(survey.slug), None)
    session[f"done:{survey.slug}"] = True
    if code is not None:
        session[f"panel_code:{survey.slug}"] = code
    return redirect(url_for("respond.thanks", slug=survey.slug))


@bp.get("/<slug>/thanks")
def thanks(slug: str) -> Any:
    """Thank the respondent."""
    survey = _survey(slug)
    inst = languages.choose(instrument_of(survey, _db()), slug, survey.title)
    testing(survey)
    return render_template("respond/thanks.html", survey=survey, inst=inst,
                           panel_code=session.get(f"panel_code:{slug}"))
