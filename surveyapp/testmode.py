"""A survey's test link: the team answers the real pages, and the answers are stored marked as a test.

``/s/<slug>/test/<token>`` checks the token against the SHA-256 kept in ``surveys.test_token_hash`` (the token
itself is shown to whoever made it and kept in their own session cookie, never in the database), then puts that
hash in the browser's session and goes to the survey's intro page. While the session's hash is the survey's,
the respondent's pages let this browser in before the survey opens and without an invitation, show a banner,
and store the finished answer as a response row with ``test`` set: no draft of an invitation, no parking, no
invitation marked answered, no count touched. Making a new link or withdrawing it stops every old one at once,
answer sheets in progress included. Test answers are counted nowhere (:func:`surveyapp.models.answers_of`)
unless an export asks for them, and go in one click (:func:`delete_test_answers`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

from flask import Blueprint, abort, g, redirect, session, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import languages
from .db import get_session
from .invitations.storage import hash_token
from .models import Response, Survey
from .published import Published
from .results.links import TOKEN  # a share link's shape: secrets.token_urlsafe(32)
from .scrub import scrub_history

bp = Blueprint("test_links", __name__, url_prefix="/s")

_HELD = "test:{}"  # the respondent's session: the hash of the test link this browser followed
_MINE = "test_link:{}"  # the investigator's session: the token of the link they made, to show it again


def new_test_link(db: Session, survey: Survey) -> str:
    """Give *survey* a new test link (the old one stops working) and return its token; the caller commits."""
    token = secrets.token_urlsafe(32)
    survey.test_token_hash = hash_token(token)
    session[_MINE.format(survey.slug)] = token
    return token


def withdraw_test_link(survey: Survey) -> None:
    """Stop *survey*'s test link; the caller commits."""
    survey.test_token_hash = None
    session.pop(_MINE.format(survey.slug), None)


def my_test_link(survey: Survey) -> str | None:
    """Return the test link's path when this investigator made the link in force (the token is in their session)."""
    token = session.get(_MINE.format(survey.slug))
    if not isinstance(token, str) or survey.test_token_hash is None \
            or not hmac.compare_digest(hash_token(token), survey.test_token_hash):
        return None
    return url_for("test_links.follow", slug=survey.slug, token=token)


def testing(survey: Survey | Published) -> bool:
    """Say whether this browser answers *survey* through its test link in force (and mark the request so)."""
    held = session.get(_HELD.format(survey.slug))
    on = isinstance(held, str) and survey.test_token_hash is not None \
        and hmac.compare_digest(held, survey.test_token_hash)
    g.test_mode = on
    return on


def store_test_answer(db: Session, survey: Published, answers: dict[str, Any]) -> None:
    """Add a finished test answer as a response marked ``test`` (in the caller's transaction)."""
    version = survey.instrument_version
    db.add(Response(survey_slug=survey.slug, instrument_id=version.instrument_id,
                    instrument_version=version.version, instrument_sha256=version.sha256,
                    submitted_on=dt.date.today(), answers=answers, test=True))


def test_answer_count(db: Session, slug: str) -> int:
    """Return how many test answers survey *slug* holds."""
    return db.scalar(select(func.count()).select_from(Response)
                     .where(Response.survey_slug == slug, Response.test.is_(True))) or 0


def delete_test_answers(db: Session, slug: str) -> tuple[int, str]:
    """Delete survey *slug*'s test answers and scrub the history as close does; return how many and a warning."""
    gone = db.execute(delete(Response).where(Response.survey_slug == slug, Response.test.is_(True))
                      .execution_options(synchronize_session=False))
    db.commit()
    count = int(gone.rowcount or 0)  # type: ignore[attr-defined]
    return count, scrub_history(db.get_bind()) if count else ""  # type: ignore[arg-type]


@bp.get("/<slug>/test/<token>")
def follow(slug: str, token: str) -> Any:
    """Check a test link, mark this browser as testing the survey, and go to its intro page."""
    survey = get_session().get(Survey, slug)
    if survey is None or survey.test_token_hash is None or not TOKEN.fullmatch(token) \
            or not hmac.compare_digest(hash_token(token), survey.test_token_hash):
        languages.use_browser_language()
        abort(404, _("This test link does not work: it was replaced or withdrawn by the survey's team."))
    session[_HELD.format(slug)] = survey.test_token_hash
    return redirect(url_for("respond.intro", slug=slug))


@bp.app_context_processor
def _banner() -> dict[str, Any]:
    return {"test_mode": bool(g.get("test_mode"))}
