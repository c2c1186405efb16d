"""Answer sheets in progress, sealed: the database keeps a random id and ciphertext, the key stays in the browser.

A draft row holds no invitation, token or anything derived from one, and no readable answer: its key is random
and lives only in the respondent's session cookie (next to the draft's id), and the invitation the browser
follows is bound in as the seal's context, so a draft opens only in the browser, and for the invitation, it was
started for. Copies of old draft rows in the database's history (SQLite's WAL, PostgreSQL's dead tuples and WAL)
are ciphertext of one padded size. Abandoned drafts expire after ``SURVEYKIT_DRAFT_DAYS`` and go at close.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, session
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from .models import Draft, random_key
from .sealing import Unsealable, key_from_text, key_text, new_key, seal, unseal

# Each respondent's request runs these: built once, since building a statement costs more than running it.
_READ = select(Draft.survey_slug, Draft.sealed, Draft.expires_on).where(Draft.key == bindparam("id"))
_WRITE = update(Draft).where(Draft.key == bindparam("id")).values(sealed=bindparam("new_sealed"))
_DISCARD = delete(Draft).where(Draft.key == bindparam("id"))
_INSERT = insert(Draft)
UNREAD = object()  # current's *row* when the caller did not read the draft's row
_SWEEP = delete(Draft).where(Draft.expires_on < bindparam("today"))
# app.extensions key: the day this process last deleted expired drafts. A draft expires at the end of a day, so the
# set of expired drafts changes only when the day does: one sweep a day per process deletes what a sweep at each
# start would (and a draft past its day is refused on read anyway, see current).
_SWEPT = "surveykit.drafts_swept"


@dataclass
class OpenDraft:
    """A draft opened with the browser's key: its id, the key, and the answers so far."""

    id: str
    slug: str
    key: bytes
    context: str
    answers: dict[str, Any] = field(default_factory=dict)


def _cookie_name(slug: str) -> str:
    return f"draft:{slug}"


def _context(slug: str, draft_id: str, invitation_key: str | None) -> str:
    return f"draft|{slug}|{draft_id}|{invitation_key or ''}"


def held_id(slug: str) -> str | None:
    """Return the id of the draft of *slug* this browser holds (to be read with the survey, in one statement)."""
    held = _held(slug)
    return held[0] if held is not None else None


def current(db: Session, slug: str, invitation_key: str | None, row: Any = UNREAD) -> OpenDraft | None:
    """Return this browser's draft of survey *slug*, or None (none, expired, or not for this invitation).

    *row*: the draft's row (survey_slug, sealed, expires_on) when the caller read it already for
    :func:`held_id` (None: no such row); by default it is read here.
    """
    held = _held(slug)
    if held is None:
        return None
    draft_id, key, _expires = held
    if row is UNREAD:
        row = db.connection().execute(_READ, {"id": draft_id}).first()
    if row is None or row.survey_slug != slug or row.expires_on < dt.date.today():
        return None
    context = _context(slug, draft_id, invitation_key)
    try:
        answers = unseal(key, row.sealed, context)
    except Unsealable:
        return None
    return OpenDraft(draft_id, slug, key, context, answers)


def _held(slug: str) -> tuple[str, bytes, dt.date] | None:
    """Return the draft id, key and expiry day this browser holds for *slug* (cookie "id.key.day")."""
    held = session.get(_cookie_name(slug))
    if not isinstance(held, str) or held.count(".") != 2:
        return None
    draft_id, text, day = held.split(".")
    key = key_from_text(text)
    try:
        expires = dt.date.fromisoformat(day)
    except ValueError:
        return None
    return (draft_id, key, expires) if key is not None else None


def finished_elsewhere(db: Session, slug: str) -> bool:
    """Say whether this browser's unexpired draft is gone: a concurrent request (a double click) finished it.

    Expired drafts are the only ones deleted otherwise (and close, after which the survey is closed).
    """
    held = _held(slug)
    if held is None or held[2] < dt.date.today():
        return False
    return db.scalar(select(Draft.key).where(Draft.key == held[0])) is None


def end_read(db: Session) -> None:
    """End the request's reads before it writes, where that matters: on SQLite a write after a stale read fails
    instead of waiting. PostgreSQL (read committed) needs no such step: a write waits for the row and sees its latest
    version, and the COMMIT and BEGIN a commit here would cost are two round trips of each respondent's request.
    """
    if db.get_bind().dialect.name == "sqlite":
        db.commit()


def start(db: Session, slug: str, invitation_key: str | None) -> OpenDraft:
    """Store a fresh, empty sealed draft, its key in the browser's session; drop expired drafts on the way."""
    end_read(db)
    today = dt.date.today()
    conn = db.connection()
    if current_app.extensions.get(_SWEPT) != today:
        conn.execute(_SWEEP, {"today": today})
    draft_id, key = random_key(), new_key()
    draft = OpenDraft(draft_id, slug, key, _context(slug, draft_id, invitation_key))
    days = current_app.config["SURVEYKIT_DRAFT_DAYS"]
    expires = today + dt.timedelta(days=days)
    conn.execute(_INSERT, {"key": draft_id, "survey_slug": slug, "sealed": seal(key, {}, draft.context),
                           "expires_on": expires})
    db.commit()
    current_app.extensions[_SWEPT] = today
    session[_cookie_name(slug)] = f"{draft_id}.{key_text(key)}.{expires.isoformat()}"
    return draft


def save(db: Session, draft: OpenDraft, answers: dict[str, Any]) -> bool:
    """Seal and store *answers* in the draft; False when the draft is gone (finished by a concurrent request)."""
    end_read(db)
    done = db.connection().execute(_WRITE, {"id": draft.id, "new_sealed": seal(draft.key, answers, draft.context)})
    db.commit()
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    draft.answers = answers
    return True


def discard(db: Session, draft: OpenDraft) -> bool:
    """Delete the draft inside the caller's transaction; False when another request deleted it first."""
    gone = db.connection().execute(_DISCARD, {"id": draft.id})
    return gone.rowcount == 1  # type: ignore[attr-defined]


def forget(slug: str) -> None:
    """Drop the draft's id and key from the browser's session."""
    session.pop(_cookie_name(slug), None)
