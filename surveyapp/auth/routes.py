"""Logging in and out, `login_required`, `current_user()`, and the expiry of idle logins.

A login is the signed session cookie holding the user's id and ``session_version``; `current_user()` checks the
version on every request. Log-out raises the version rather than keeping a server-side list of live sessions:
the users row is read on every request anyway, one integer needs no table or clean-up, and a copied cookie dies
with the log-out — at the price that logging out ends the investigator's logins in other browsers too.
"""

from __future__ import annotations

import functools
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.middleware.proxy_fix import ProxyFix

from ..db import get_session
from .forms import LoginForm
from .models import AuthError, User, authenticate, end_sessions
from .throttle import throttle_secret

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.record_once
def _trust_proxies(state: BlueprintSetupState) -> None:
    # The throttle counts per client address. Behind N reverse proxies that is the N-th address from the right
    # of X-Forwarded-For; trusting the header without a proxy would let anyone pick their own address.
    app = state.app
    proxies = app.config.get("SURVEYKIT_TRUSTED_PROXIES", 0)
    if proxies and isinstance(app, Flask):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    """Return the investigator logged in on this request, or None."""
    if "current_user" not in g:
        uid = session.get("user_id")
        user = get_session().get(User, uid) if uid is not None else None
        if user is not None and (session.get("auth_version") != user.session_version or user.disabled):
            # Logged out, the password changed or the account was disabled since this cookie was made.
            _log_out()
            user = None
        g.current_user = user
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
    session.pop("auth_version", None)
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


def _is_local_path(target: str) -> bool:
    """Return whether *target* (decoded) is a path on this site and nothing a browser could read as another."""
    # Browsers drop tabs and newlines and read "\\" as "/": "/\t/evil.example" and "/\\evil.example" go off site.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def landing(user: User) -> str:
    """Return where *user* lands after logging in: the first page their role may use (see :mod:`.access`)."""
    if user.role in ("admin", "investigator") and "admin" in current_app.blueprints:
        return url_for("admin.surveys")
    if user.role == "coder" and "coding" in current_app.blueprints:
        return url_for("coding.index")
    return url_for("pages.home")


def _safe_next(target: str | None, user: User) -> str:
    # Only paths on this site: an absolute or protocol-relative URL would make the log-in page an open redirect.
    if target and _is_local_path(target):
        return target
    return landing(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the log-in form; log the investigator in."""
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            user = authenticate(db, form.email.data or "", form.password.data or "", request.remote_addr or "",
                                throttle_secret(current_app.secret_key or ""))
        except AuthError as exc:
            flash(str(exc), "error")
            return render_template("auth/login.html", form=form), 401
        return start_login(user, _safe_next(request.args.get("next"), user))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


def start_login(user: User, target: str) -> Any:
    """Log *user* in on this browser and go to *target*."""
    # A fresh session on log-in: nothing a visitor had in the cookie before carries into the login.
    session.clear()
    g.pop("current_user", None)
    session["user_id"] = user.id
    session["auth_version"] = user.session_version
    session["auth_seen"] = time.time()
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    """Log out everywhere (a POST with a CSRF token, so no other site can log anyone out)."""
    user = current_user()
    if user is not None:
        db = get_session()
        end_sessions(db, user.id)
        db.commit()
    _log_out()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
