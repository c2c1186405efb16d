"""Public pages that are not a survey: the home page listing open surveys."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from .db import get_session
from .models import Survey

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> Any:
    """List the surveys open as public links."""
    surveys = get_session().scalars(select(Survey).where(Survey.mode == "open").order_by(Survey.title)).all()
    return render_template("home.html", surveys=[s for s in surveys if s.state() == "open"])
