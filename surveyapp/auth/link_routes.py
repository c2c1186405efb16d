"""The pages of set-password links (an invited account sets its password) and of the one set-up link (the first
admin's account); both log the account in. The rules of the links themselves are in :mod:`.links`."""

from __future__ import annotations

from typing import Any

from flask import render_template

from ..db import get_session
from . import links
from .forms import SetPasswordForm, SetupForm
from .models import MIN_PASSWORD, AuthError, User, create_user
from .routes import bp, landing, start_login


def _open(token: str, purpose: str) -> links.AccountLink | Any:
    """Return the link of *token*, or the page that says why it cannot be used."""
    try:
        return links.find(get_session(), token, purpose)
    except links.LinkError as exc:
        return _refused(exc)


def _refused(exc: links.LinkError) -> Any:
    # 410 Gone for a link that was good once (used, expired); 404 for one that never was.
    status = 410 if exc.gone else 404
    return render_template("auth/link_refused.html", message=str(exc)), status


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Any:
    """Let an invited account set its password through its single-use link, then log it in."""
    db = get_session()
    link = _open(token, links.INVITE)
    if not isinstance(link, links.AccountLink):
        return link
    user = db.get(User, link.user_id)
    if user is None or user.disabled:
        return _refused(links.LinkError("This link is not valid: the account is disabled."))
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            links.use(db, link)
        except links.LinkError as exc:
            return _refused(exc)
        user.set_password(form.password.data or "")
        user.session_version += 1  # any login made before (there should be none) ends
        db.commit()
        return start_login(user, landing(user))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/set_password.html", form=form, user=user, min_password=MIN_PASSWORD), status


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str) -> Any:
    """Create the first account, an admin, through the set-up link printed at the first start."""
    db = get_session()
    link = _open(token, links.SETUP)
    if not isinstance(link, links.AccountLink):
        return link
    form = SetupForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            links.use(db, link)
            user = create_user(db, form.email.data or "", form.password.data or "", form.name.data or "",
                               role="admin")
        except links.LinkError as exc:
            return _refused(exc)
        except AuthError as exc:
            db.rollback()
            form.email.errors = [str(exc)]
        else:
            db.commit()
            return start_login(user, landing(user))
    return render_template("auth/setup.html", form=form, min_password=MIN_PASSWORD), status
