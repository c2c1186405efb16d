"""Investigators' accounts: log in, log out, `login_required`, `current_user()`, and `surveykit users`.

Respondents never log in; only investigators have accounts. Passwords are hashed with argon2id; an account is
locked for a while after repeated failed log-ins; a login expires after SURVEYKIT_SESSION_HOURS without activity.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.cli import AppGroup
from flask_wtf import FlaskForm
from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .db import get_session
from .models import Base

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

bp = Blueprint("auth", __name__, url_prefix="/auth")
users_group = AppGroup("users", help="Investigators' accounts (respondents never log in).")

F = TypeVar("F", bound=Callable[..., Any])


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
    now = now or _utcnow()
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


def current_user() -> User | None:
    """Return the investigator logged in on this request, or None."""
    if "current_user" not in g:
        uid = session.get("user_id")
        g.current_user = get_session().get(User, uid) if uid is not None else None
    return g.current_user  # type: ignore[no-any-return]


def login_required(view: F) -> F:
    """Send visitors who are not logged in to the log-in page, then back."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.app_context_processor
def _investigator() -> dict[str, Any]:
    # Templates see who is logged in (for the nav) without a query on pages nobody is logged in to.
    return {"investigator": current_user() if "user_id" in session else None,
            "blueprints": current_app.blueprints}


def _log_out() -> None:
    session.pop("user_id", None)
    session.pop("auth_seen", None)
    g.pop("current_user", None)


@bp.before_app_request
def _expire_idle_login() -> None:
    if "user_id" not in session:
        return
    hours = current_app.config["SURVEYKIT_SESSION_HOURS"]
    seen = session.get("auth_seen", 0)
    now = time.time()
    if now - seen > hours * 3600:
        _log_out()
        flash("Your session expired after a period without activity; please log in again.", "error")
        return
    # Rewriting the cookie on every request is wasteful; a minute's resolution is plenty for hours of expiry.
    if now - seen > 60:
        session["auth_seen"] = now


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an absolute or protocol-relative URL would make the log-in page an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.surveys") if "admin" in current_app.blueprints else url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the log-in form; log the investigator in."""
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = authenticate(db, form.email.data or "", form.password.data or "")
        except AuthError as exc:
            flash(str(exc), "error")
            return render_template("auth/login.html", form=form), 401
        target = _safe_next(request.args.get("next"))
        # A fresh session on log-in: nothing a visitor had in the cookie before carries into the login.
        session.clear()
        session["user_id"] = user.id
        session["auth_seen"] = time.time()
        return redirect(target)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Any:
    """Log out (a POST with a CSRF token, so no other site can log anyone out)."""
    _log_out()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Name shown in the pages (default: none).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def create_user_command(email: str, name: str, password_stdin: bool) -> None:
    """Create an investigator's account for EMAIL (prompts twice for the password)."""
    password = _read_password(password_stdin)
    db = get_session()
    try:
        user = create_user(db, email, password, name)
    except AuthError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"account created for {user.email}")


@users_group.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def set_password_command(email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL and lift any lock."""
    db = get_session()
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account for {email}")
    password = _read_password(password_stdin)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password must have at least {MIN_PASSWORD} characters")
    user.set_password(password)
    user.failed_logins, user.locked_until = 0, None
    db.commit()
    click.echo(f"password changed for {user.email}")


@users_group.command("list")
def list_users_command() -> None:
    """List investigators' accounts."""
    users = get_session().scalars(select(User).order_by(User.email)).all()
    if not users:
        click.echo("no accounts yet: create one with 'surveykit users create EMAIL'")
    for u in users:
        locked = "  (locked)" if u.locked_until and u.locked_until > _utcnow() else ""
        click.echo(f"{u.email:40} {u.name}{locked}")
