"""Public pages that are not a survey: the home page listing open surveys (and a viewer's shared results)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, session
from sqlalchemy import select

from .auth.access import visible_surveys
from .auth.routes import current_user
from .db import get_session
from .models import Survey

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> Any:
    """List the surveys open as public links; to a logged-in viewer, also the results shared with them."""
    db = get_session()
    surveys = db.scalars(select(Survey).where(Survey.mode == "open").order_by(Survey.title)).all()
    user = current_user() if "user_id" in session else None
    shared: list[Survey] = []
    if user is not None and user.role == "viewer":  # a viewer lands here after logging in
        slugs = visible_surveys(db, user) or set()
        shared = list(db.scalars(select(Survey).where(Survey.slug.in_(slugs)).order_by(Survey.title)))
    return render_template("home.html", surveys=[s for s in surveys if s.state() == "open"], shared=shared)
