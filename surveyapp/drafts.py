"""Answer sheets in progress, sealed: the database keeps an id and ciphertext, the key stays with the respondent.

Two kinds of draft, one table:

* *Linked* drafts (invitation mode). Following ``/i/<token>`` derives a *seed* from the link's token and the
  survey's parking key (HKDF-SHA256, token as input, parking key as salt, see :func:`link_seed`); the draft's id,
  its sealing key and the id of its "finished" mark are HMACs of that seed under distinct labels. Any browser that
  opens the same link derives the same seed, so it finds and opens the same draft: the respondent can continue on
  another device. The token is never stored (the invitation keeps its SHA-256), the seed lives only in the
  browser's session, and neither the draft id nor the key can be computed from anything the database holds: they
  need the token, which only the e-mail carries, *and* the parking key, a file outside the database that close
  destroys. So a database reader, history included, cannot tell which draft belongs to which invitation, and after
  close nobody can open an old copy even with the e-mail in hand.
* *Browser* drafts (open mode, and drafts begun before linking existed): a random id and a random key, both in
  the respondent's session cookie only; such a draft opens only in the browser that started it.

Either way the invitation the browser follows is bound in as the seal's context, and the row holds no invitation,
token, address or readable answer; copies in the database's history are ciphertext of one padded size.

Two devices may edit one linked draft at once: each save re-reads the sheet and replaces only the page it sends
(compare-and-swap on the sealed bytes), so the last write of each page wins. The final page deletes the draft and,
for a linked draft, leaves a sealed *finished mark* naming the browser (a random nonce in its session) that sent
it: a double click from that browser gets the thank-you page, another device gets "already answered". Marks expire
the next day, abandoned drafts after ``SURVEYKIT_DRAFT_DAYS``; all go at close.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, g, session
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Handle
from .models import Draft, random_key
from .sealing import Unsealable, key_from_text, key_text, new_key, seal, unseal

# Each respondent's request runs these: built once, since building a statement costs more than running it.
_READ = select(Draft.survey_slug, Draft.sealed, Draft.expires_on).where(Draft.key == bindparam("id"))
_WRITE = update(Draft).where(Draft.key == bindparam("id")).values(sealed=bindparam("new_sealed"))
_SWAP = (update(Draft).where(Draft.key == bindparam("id"), Draft.sealed == bindparam("old_sealed"))
         .values(sealed=bindparam("new_sealed")))
_DISCARD = delete(Draft).where(Draft.key == bindparam("id"))
_INSERT = insert(Draft)
_SWEEP = delete(Draft).where(Draft.expires_on < bindparam("today"))
# app.extensions key: the day this process last deleted expired drafts. A draft expires at the end of a day, so the
# set of expired drafts changes only when the day does: one sweep a day per process deletes what a sweep at each
# start would (and a draft past its day is refused on read anyway, see current).
_SWEPT = "surveykit.drafts_swept"

# How often a save retries when another device's save slipped in between its read and its write.
SAVE_TRIES = 8


@dataclass
class OpenDraft:
    """A draft opened with the browser's key: its id, the key, and the answers so far."""

    id: str
    slug: str
    key: bytes
    context: str
    answers: dict[str, Any] = field(default_factory=dict)
    # A linked draft's "finished" mark id and this browser's nonce (None for a browser draft).
    done_id: str | None = None
    device: str | None = None
    # The sealed bytes *answers* were read from (None: not read): save's first compare-and-swap starts from them.
    sealed: bytes | None = None


@dataclass(frozen=True)
class _Linked:
    draft_id: str
    key: bytes
    done_id: str
    device: str


def _cookie_name(slug: str) -> str:
    return f"draft:{slug}"


def _linked_name(slug: str) -> str:
    return f"linked:{slug}"


def _context(slug: str, draft_id: str, invitation_key: str | None) -> str:
    return f"draft|{slug}|{draft_id}|{invitation_key or ''}"


def link_seed(token: str, parking_key: bytes, slug: str) -> bytes:
    """Return the seed of the draft that invitation link *token* of survey *slug* opens (HKDF-SHA256).

    The token is the input key material, the survey's parking key the salt: the stored SHA-256 of the token
    gives nothing, and without the parking key (destroyed at close) the token alone gives nothing either.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=parking_key,
                info=f"surveykit draft seed|{slug}".encode()).derive(token.encode())


def _label(seed: bytes, label: str) -> bytes:
    return hmac.new(seed, f"surveykit draft {label}".encode(), hashlib.sha256).digest()


def _id_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw[:16]).decode().rstrip("=")


def _derive(seed: bytes, device: str) -> _Linked:
    return _Linked(_id_text(_label(seed, "id")), _label(seed, "key"), _id_text(_label(seed, "finished")), device)


def _linked(slug: str) -> _Linked | None:
    """Return the linked draft this browser holds for *slug* (session "seed.device"), if any."""
    if g.get("test_mode"):  # a test link's sheet is this browser's own draft, never an invitation's (testmode.py)
        return None
    held = session.get(_linked_name(slug))
    if not isinstance(held, str) or held.count(".") != 1:
        return None
    seed_text, device = held.split(".")
    seed = key_from_text(seed_text)
    return _derive(seed, device) if seed is not None and device else None


def _exists(db: Handle, draft_id: str) -> bool:
    return db.scalar(select(Draft.key).where(Draft.key == draft_id)) is not None


def bind_link(db: Session, slug: str, seed: bytes, same_invitation: bool) -> None:
    """Hold the linked draft of *seed* in this browser's session (after following an invitation link).

    A browser that already holds a draft for the same invitation (*same_invitation*: it followed the invitation's
    other link, the reminder's or the first e-mail's) keeps it unless the link just followed has a draft of its own.
    """
    held = _linked(slug)
    device = held.device if held is not None else secrets.token_urlsafe(12)
    new = _derive(seed, device)
    if (same_invitation and held is not None and held.draft_id != new.draft_id and _exists(db, held.draft_id)
            and not _exists(db, new.draft_id)):
        return
    session[_linked_name(slug)] = f"{key_text(seed)}.{device}"


def held_id(slug: str) -> str | None:
    """Return the id of the draft of *slug* this browser holds (to be read with the survey, in one statement)."""
    linked = _linked(slug)
    if linked is not None:
        return linked.draft_id
    held = _held(slug)
    return held[0] if held is not None else None


def current(db: Handle, slug: str, invitation_key: str | None,
            read: tuple[str | None, Any] | None = None) -> OpenDraft | None:
    """Return this browser's draft of survey *slug*, or None (none, expired, or not for this invitation).

    *read*: (draft id, its row or None) as the caller read them with :func:`held_id`; the row serves only while it
    is still the draft this browser holds (the test link, followed after that read, switches to the browser's own
    draft), else the row is read here.
    """
    linked = _linked(slug)
    if linked is not None:
        draft_id, key = linked.draft_id, linked.key
    else:
        held = _held(slug)
        if held is None:
            return None
        draft_id, key, _expires = held
    if read is not None and read[0] == draft_id:
        row = read[1]
    else:
        row = db.connection().execute(_READ, {"id": draft_id}).first()
    if row is None or row.survey_slug != slug or row.expires_on < dt.date.today():
        return None
    context = _context(slug, draft_id, invitation_key)
    try:
        answers = unseal(key, row.sealed, context)
    except Unsealable:
        return None
    if linked is not None:
        return OpenDraft(draft_id, slug, key, context, answers, linked.done_id, linked.device, row.sealed)
    return OpenDraft(draft_id, slug, key, context, answers, sealed=row.sealed)


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


def finished_elsewhere(db: Handle, slug: str, invitation_key: str | None = None) -> bool:
    """Say whether this browser's draft is gone because a concurrent request *from this browser* (a double click)
    finished it.

    A browser draft: its unexpired row is gone (only expiry and close delete one otherwise). A linked draft: its
    row is gone and its finished mark names this browser; another device holding the same link gets False.
    """
    linked = _linked(slug)
    if linked is not None:
        if _exists(db, linked.draft_id):
            return False
        row = db.connection().execute(_READ, {"id": linked.done_id}).first()
        if row is None:
            return False
        try:
            mark = unseal(linked.key, row.sealed, _context(slug, linked.done_id, invitation_key))
        except Unsealable:
            return False
        return isinstance(mark, dict) and mark.get("device") == linked.device
    held = _held(slug)
    if held is None or held[2] < dt.date.today():
        return False
    return not _exists(db, held[0])


def _expiry() -> dt.date:
    return dt.date.today() + dt.timedelta(days=current_app.config["SURVEYKIT_DRAFT_DAYS"])


def end_read(db: Handle) -> None:
    """End the request's reads before it writes, where that matters: on SQLite a write after a stale read fails
    instead of waiting. PostgreSQL (read committed) needs no such step: a write waits for the row and sees its latest
    version, and the COMMIT and BEGIN a commit here would cost are two round trips of each respondent's request.
    """
    if db.get_bind().dialect.name == "sqlite":
        db.commit()


def start(db: Handle, slug: str, invitation_key: str | None) -> OpenDraft:
    """Store a fresh, empty sealed draft (linked, or with its key in the browser's session); drop expired drafts.

    When another device holding the same link started the linked draft first, that one is returned.
    """
    end_read(db)
    today = dt.date.today()
    if current_app.extensions.get(_SWEPT) != today:
        db.connection().execute(_SWEEP, {"today": today})
    linked = _linked(slug)
    if linked is not None:
        draft_id, key = linked.draft_id, linked.key
    else:
        draft_id, key = random_key(), new_key()
    draft = OpenDraft(draft_id, slug, key, _context(slug, draft_id, invitation_key),
                      done_id=linked.done_id if linked else None, device=linked.device if linked else None)
    expires = _expiry()
    try:
        db.connection().execute(_INSERT, {"key": draft_id, "survey_slug": slug,
                                          "sealed": seal(key, {}, draft.context), "expires_on": expires})
        db.commit()
    except IntegrityError:
        db.rollback()
        found = current(db, slug, invitation_key)
        if found is not None:
            return found
        raise
    current_app.extensions[_SWEPT] = today
    if linked is None:
        session[_cookie_name(slug)] = f"{draft_id}.{key_text(key)}.{expires.isoformat()}"
    return draft


def save(db: Handle, draft: OpenDraft, merge: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
    """Store ``merge(answers now stored)`` in the draft; False when the draft is gone (finished meanwhile).

    *merge* puts one page's answers over the sheet as stored at this moment, so two devices editing one linked
    draft each keep their own pages: the write is conditional on the sealed bytes read, and retried on a change.
    """
    connection = db.connection
    for attempt in range(SAVE_TRIES):
        end_read(db)
        if attempt == 0 and draft.sealed is not None:
            # The sheet as this request read it: when it changed since, the swap below fails and the next try reads.
            old_sealed, stored = draft.sealed, draft.answers
        else:
            row = connection().execute(_READ, {"id": draft.id}).first()
            if row is None:
                db.commit()
                return False
            old_sealed = row.sealed
            try:
                stored = unseal(draft.key, row.sealed, draft.context)
            except Unsealable:
                stored = draft.answers
        answers = merge(stored)
        new_sealed = seal(draft.key, answers, draft.context)
        done = connection().execute(_SWAP, {"id": draft.id, "old_sealed": old_sealed, "new_sealed": new_sealed})
        db.commit()
        if done.rowcount == 1:  # type: ignore[attr-defined]
            draft.answers, draft.sealed = answers, new_sealed
            return True
    # Still changing under us after every try: the last write wins.
    answers = merge(draft.answers)
    new_sealed = seal(draft.key, answers, draft.context)
    done = connection().execute(_WRITE, {"id": draft.id, "new_sealed": new_sealed})
    db.commit()
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    draft.answers, draft.sealed = answers, new_sealed
    return True


def discard(db: Handle, draft: OpenDraft) -> bool:
    """Delete the draft inside the caller's transaction; False when another request deleted it first.

    A linked draft leaves its sealed finished mark naming this browser (see :func:`finished_elsewhere`).
    """
    gone = db.connection().execute(_DISCARD, {"id": draft.id})
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if draft.done_id is not None:
        context = _context(draft.slug, draft.done_id, draft.context.rsplit("|", 1)[1] or None)
        # Kept only for a double click's second request: gone with the first purge after tomorrow, and at close.
        db.connection().execute(_INSERT, {"key": draft.done_id, "survey_slug": draft.slug,
                                          "expires_on": dt.date.today() + dt.timedelta(days=1),
                                          "sealed": seal(draft.key, {"device": draft.device}, context)})
    return True


def forget(slug: str) -> None:
    """Drop the draft's id and key (or the linked draft's seed) from the browser's session."""
    session.pop(_cookie_name(slug), None)
    session.pop(_linked_name(slug), None)
