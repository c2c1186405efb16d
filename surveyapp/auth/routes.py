"""Logging in and out, `login_required`, `current_user()`, and the expiry of idle logins."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from ..db import get_session
from .forms import LoginForm
from .models import AuthError, User, authenticate

bp = Blueprint("auth", __name__, url_prefix="/auth")

F = TypeVar("F", bound=Callable[..., Any])


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
