"""Invitation links: /i/<token> binds the invitation to the browser session and leaves the address bar at once.

The token travels only in that first request; every later page is /s/<slug>, and the session (a signed cookie of
the respondent's own browser) holds the invitation's random key until the answer is stored, and the seed of the
draft the link opens (:func:`surveyapp.drafts.link_seed`), so that the same link opens the same answer sheet in any
browser. The token itself is kept nowhere.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WebResponse

from .. import drafts, languages
from ..db import get_session
from ..models import Invitation, Survey
from ..published import Published
from ..surveys import instrument_of
from .parking import ParkingError, parking_key
from .storage import find_invitation

bp = Blueprint("invite_links", __name__)


def _binding_name(slug: str) -> str:
    return f"invite:{slug}"


def bound_key(slug: str) -> str | None:
    """Return the key of the invitation this browser opened for survey *slug*, if any."""
    return session.get(_binding_name(slug))


def forget(slug: str) -> None:
    """Drop the browser's link to its invitation (after the answer is stored)."""
    session.pop(_binding_name(slug), None)


@bp.get("/i/<token>")
def follow(token: str) -> Any:
    """Check an invitation token, remember the invitation in the session, and go to the survey."""
    db = get_session()
    inv = find_invitation(db, token)
    if inv is None:
        languages.use_browser_language()
        return make_response(render_template("invite/invalid.html"), 404)
    survey = db.get(Survey, inv.survey_slug)
    assert survey is not None  # invitations are deleted with their survey
    languages.choose(instrument_of(survey), survey.slug, survey.title)
    if inv.answered:
        return make_response(render_template("invite/answered.html", survey=survey), 410)
    state = survey.state()
    if state != "open":
        return make_response(render_template("respond/closed.html", survey=survey, state=state), 410)
    same_invitation = session.get(_binding_name(survey.slug)) == inv.key
    session[_binding_name(survey.slug)] = inv.key
    try:
        key = parking_key(survey.slug, create=True)
    except ParkingError:
        key = None  # a broken key file: parking will say so; meanwhile the draft stays in this browser
    if key is not None:
        drafts.bind_link(db, survey.slug, drafts.link_seed(token, key, survey.slug), same_invitation)
    return redirect(url_for("respond.intro", slug=survey.slug))


def gate(survey: Survey | Published) -> WebResponse | None:
    """Return the page to show instead of an invitation-mode survey when this browser holds no usable invitation."""
    key = bound_key(survey.slug)
    inv = get_session().get(Invitation, key) if key else None
    if inv is None or inv.survey_slug != survey.slug:
        return make_response(render_template("invite/need_link.html", survey=survey), 403)
    if inv.answered:
        if request.method == "POST" and drafts.finished_elsewhere(get_session(), survey.slug, key):
            # Answered while this browser's form was in flight, and its draft is gone: the first click of a
            # double-clicked last page finished it. It gets the thank-you page like that first click did.
            # (Another device with the same link finds the draft's finished mark names another browser: it is
            # told the link was used.)
            return redirect(url_for("respond.thanks", slug=survey.slug))
        return make_response(render_template("invite/answered.html", survey=survey), 410)
    return None
