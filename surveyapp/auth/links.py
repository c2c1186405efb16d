"""Set-password and set-up links: random tokens kept only as their SHA-256, single use, invitations expiring.

An *invite* link belongs to an account made by an admin (it has no password yet) and expires after
SURVEYKIT_INVITE_HOURS; the *setup* link creates the first admin on a database with no account and lasts until
used (a newer one replaces it). A used link stays as a row, so its page can say "already used" rather than
"unknown"; the token itself is never stored, so a copy of the database opens nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import DateTime, ForeignKey, String, delete, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Base
from .models import User

INVITE, SETUP = "invite", "setup"


class AccountLink(Base):
    """One set-password (invite) or set-up link, under the hash of its token."""

    __tablename__ = "account_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True,
                                                index=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class LinkError(ValueError):
    """A link that opens nothing; the message says why. ``gone``: it was good once (used, expired)."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


def now() -> dt.datetime:
    """Return the time in UTC without tzinfo (tests move it on to expire links)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def token_hash(token: str) -> str:
    """Return the stored form of *token*."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_invite(db: Session, user: User, hours: int) -> str:
    """Return a fresh set-password link token for *user*; earlier unused ones stop working."""
    db.execute(delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None)))
    token = secrets.token_urlsafe(32)
    db.add(AccountLink(token_hash=token_hash(token), purpose=INVITE, user_id=user.id,
                       expires_at=now() + dt.timedelta(hours=hours)))
    db.flush()
    return token


def new_setup(db: Session) -> str | None:
    """Return a set-up link token when there is no account yet (older set-up links stop working), else None."""
    if account_count(db):
        return None
    db.execute(delete(AccountLink).where(AccountLink.purpose == SETUP))
    token = secrets.token_urlsafe(32)
    db.add(AccountLink(token_hash=token_hash(token), purpose=SETUP, user_id=None, expires_at=None))
    db.flush()
    return token


def account_count(db: Session) -> int:
    """Return how many accounts there are."""
    return int(db.scalar(select(func.count()).select_from(User)) or 0)


def find(db: Session, token: str, purpose: str) -> AccountLink:
    """Return the unused, unexpired link of *token*; raise LinkError saying what is wrong with it."""
    link = db.get(AccountLink, token_hash(token))
    if link is None or link.purpose != purpose:
        raise LinkError("This link is not valid: check that it was copied whole, or ask for a new one.")
    if link.used_at is not None:
        raise LinkError("This link was used already and works only once. Log in with the password you set, "
                        "or ask an administrator for a new link.", gone=True)
    if link.expires_at is not None and now() > link.expires_at:
        raise LinkError("This link has expired. Ask an administrator to send a new one.", gone=True)
    if purpose == SETUP and account_count(db):
        raise LinkError("The first account exists already: log in, or ask an administrator for an account.",
                        gone=True)
    return link


def use(db: Session, link: AccountLink) -> None:
    """Mark *link* used in the caller's transaction; raise LinkError when another request used it first."""
    # A conditional UPDATE, so two requests racing with one link cannot both pass.
    done = db.execute(update(AccountLink).where(AccountLink.token_hash == link.token_hash,
                                                AccountLink.used_at.is_(None)).values(used_at=now()))
    if getattr(done, "rowcount", 0) != 1:
        db.rollback()
        raise LinkError("This link was used already and works only once.", gone=True)
