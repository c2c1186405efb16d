"""The investigators' account table and its rules: argon2id password hashes, a lock after repeated failures."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, utcnow

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to verify against, which keeps a log-in for an unknown address as slow as a known one's."""
    # Made on first use, not at import: argon2id takes 64 MiB and ~0.1 s, which every CLI command would pay.
    return _hasher.hash("not a password of anyone")


class User(Base):
    """An investigator who may log in to the investigators' pages."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_on: Mapped[dt.date] = mapped_column(default=dt.date.today)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    # Naive UTC; investigators' log-in times are not respondents' data.
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    def set_password(self, password: str) -> None:
        """Hash and keep *password*."""
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        """Return whether *password* is this user's; upgrade the hash when its parameters are old."""
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.set_password(password)
        return True

    @property
    def label(self) -> str:
        """Return the name, or the e-mail address when there is no name."""
        return self.name or self.email


class AuthError(ValueError):
    """An account action that cannot be done; the message says why."""


def normalize_email(email: str) -> str:
    """Return *email* trimmed and lower-cased, or raise AuthError when it is not an address."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AuthError(f"'{email}' is not an e-mail address")
    return email


def create_user(db: Any, email: str, password: str, name: str = "") -> User:
    """Add an investigator's account; refuse a duplicate address or a short password."""
    email = normalize_email(email)
    if db.scalar(select(User).where(func.lower(User.email) == email)) is not None:
        raise AuthError(f"an account for {email} exists already")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")
    user = User(email=email, name=name.strip(), failed_logins=0, created_on=dt.date.today())
    user.set_password(password)
    db.add(user)
    db.flush()
    return user


def authenticate(db: Any, email: str, password: str, now: dt.datetime | None = None) -> User:
    """Return the user whose credentials these are, counting failures; raise AuthError otherwise."""
    now = now or utcnow()
    try:
        email = normalize_email(email)
    except AuthError:
        email = ""
    user = db.scalar(select(User).where(User.email == email)) if email else None
    if user is None:
        try:
            _hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        raise AuthError("Wrong e-mail address or password.")
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise AuthError(f"Too many failed log-ins: this account is locked for {minutes} more minute"
                        f"{'s' if minutes != 1 else ''}.")
    if not user.check_password(password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.failed_logins = 0
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            db.commit()
            raise AuthError(f"Too many failed log-ins: this account is locked for {LOCK_MINUTES} minutes.")
        db.commit()
        raise AuthError("Wrong e-mail address or password.")
    user.failed_logins = 0
    user.locked_until = None
    db.commit()
    return user
