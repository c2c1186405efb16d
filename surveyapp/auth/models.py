"""The investigators' account table and its rules: argon2id password hashes, a throttled log-in, session versions.

A log-in answers the same whatever went wrong — unknown address, wrong password, or a try the throttle holds
back (:mod:`.throttle` has the policy) — and an unknown address costs the same argon2 verify as a known one, so
neither the message nor the time tells which addresses have accounts. ``session_version`` is stored in each
login's cookie and checked on every request: raising it (log-out, new password) ends every login made before.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Integer, String, false, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Base
from . import throttle

# One answer for every failed log-in: which of its causes applied must not show (see the module docstring).
FAILED = ("Wrong e-mail address or password. After 5 failed tries from one place, each next try must wait "
          "longer (1, 2, 4 … minutes): if you are sure of your password, wait a few minutes and try again.")
MIN_PASSWORD = 10
# What each role may do is decided in :mod:`.access`; the order here is the order the pages list them in.
ROLES = ("admin", "investigator", "coder", "viewer")
EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Return a hash to verify against, which keeps a log-in for an unknown address as slow as a known one's."""
    # Made on first use, not at import: argon2id takes 64 MiB and ~0.1 s, which every CLI command would pay.
    return _hasher.hash("not a password of anyone")


class User(Base):
    """An account that may log in: an admin, an investigator, a coder or a viewer (:data:`ROLES`)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_on: Mapped[dt.date] = mapped_column(default=dt.date.today)
    # Kept in each login's cookie; raising it ends every login made before (log-out, new password).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    role: Mapped[str] = mapped_column(String(20), default="investigator", server_default="investigator")
    # A disabled account cannot log in, and its logins end on the next request (current_user checks this).
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

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


def check_role(role: str) -> str:
    """Return *role*, or raise AuthError naming the roles there are."""
    if role not in ROLES:
        raise AuthError(f"role '{role}': choose {', '.join(ROLES)}")
    return role


def create_user(db: Any, email: str, password: str | None, name: str = "", role: str = "admin") -> User:
    """Add an account; refuse a duplicate address or a short password.

    *password* None makes an account that cannot log in until its set-password link is used (an invitation).
    The role defaults to admin for the library's callers that predate roles; the CLI and the pages always pass one.
    """
    email = normalize_email(email)
    check_role(role)
    if db.scalar(select(User).where(func.lower(User.email) == email)) is not None:
        raise AuthError(f"an account for {email} exists already")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")
    user = User(email=email, name=name.strip(), session_version=0, created_on=dt.date.today(), role=role,
                disabled=False)
    # No password yet: an empty hash, which check_password refuses (argon2 cannot read it).
    user.password_hash = ""
    if password is not None:
        user.set_password(password)
    db.add(user)
    db.flush()
    return user


def end_sessions(db: Session, user_id: int) -> None:
    """Make every login of the user invalid, copied cookies included (commit is the caller's)."""
    db.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))
    db.expire_all()


def _dummy_verify(password: str) -> None:
    try:
        _hasher.verify(_dummy_hash(), password)
    except VerificationError:
        pass


def authenticate(db: Session, email: str, password: str, client: str, secret: bytes,
                 now: float | None = None) -> User:
    """Return the user whose credentials these are; raise AuthError(FAILED) otherwise.

    *client* is the address the request came from and *secret* the throttle's key (:func:`.throttle.counters`).
    """
    address = email.strip().lower()
    counters = throttle.counters(secret, address, client)
    if not throttle.reserve(db, counters, now):
        raise AuthError(FAILED)
    user = db.scalar(select(User).where(User.email == address)) if EMAIL_RE.match(address) else None
    if user is None:
        _dummy_verify(password)
        raise AuthError(FAILED)
    if not user.check_password(password):
        db.rollback()
        raise AuthError(FAILED)
    if user.disabled:
        # Said only to someone who knows the password: they learn nothing an outsider could use.
        db.rollback()
        raise AuthError("This account is disabled: ask an administrator to enable it.")
    throttle.give_back(db, counters)  # commits the hash upgrade check_password may have made, too
    return user


def account_names(db: Session) -> dict[str, str]:
    """Return e-mail address -> name of every account that has a name (coding outputs show coders by it)."""
    return {email: name for email, name in db.execute(select(User.email, User.name)) if name}
