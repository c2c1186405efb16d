"""What every coding view does: find the project and unit or answer 404, who I am, read numbers, report errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, request
from flask_wtf import FlaskForm
from sqlalchemy import select

from coding import projects
from coding.coders import display_names
from coding.store import Project, ProjectError, Unit

from ..auth.models import User, account_names
from ..auth.routes import current_user
from ..db import get_session
from ..security import INT_MAX, parse_bounded_int
from .blueprint import bp

PAGE = 50  # rows per page: the codebook's audit log, the reconciliation queue


def current_coder() -> str:
    """Return the logged-in investigator's e-mail, their coder name (the view is login_required)."""
    user = current_user()
    assert user is not None  # login_required ran first
    return user.email


@bp.app_template_filter("coder")
def coder_name(address: str | None) -> str:
    """Show a coder (stored by address) by display name (:func:`coding.coders.display_names`), once per request."""
    if not address:
        return ""
    names = g.get("surveykit_coder_names")
    if names is None:
        db = get_session()
        names = g.surveykit_coder_names = display_names(db.scalars(select(User.email)), account_names(db))
    return names.get(address) or display_names([address])[address]


def project_or_404(name: str) -> Project:
    """Return the project called *name*, or answer 404 naming it."""
    project = projects.find_project(get_session(), name)
    if project is None:
        abort(404, f"There is no coding project '{name}'.")
    return project


def unit_or_404(project: Project, unit_id: int) -> Unit:
    """Return a unit of *project*, or answer 404 naming it."""
    unit = get_session().get(Unit, unit_id)
    if unit is None or unit.project_id != project.id:
        abort(404, f"There is no unit {unit_id} in project '{project.name}'.")
    return unit


def parse_int(value: str | None) -> int | None:
    """Read an optional whole number from a request value; answer 400 naming a value that is not one."""
    if value is None or value == "":
        return None
    number = parse_bounded_int(value)
    if number is None:
        abort(400, f"'{value[:40]}' is not a whole number of at most {INT_MAX}.")
    return number


def form_ids(field: str) -> list[int]:
    """Return the ids a form's checkboxes named *field* sent, in form order (empty values skipped)."""
    return [n for n in (parse_int(v) for v in request.form.getlist(field)) if n is not None]


def fail(exc: Exception) -> None:
    """Roll the request's changes back and show the error on the next page."""
    get_session().rollback()
    flash(str(exc), "error")


def flash_form_errors(form: FlaskForm) -> None:
    """Show a form's validation errors on the next page."""
    flash("; ".join(e for errors in form.errors.values() for e in errors), "error")


def apply_form(form: FlaskForm, change: Callable[[], Any], done: str) -> None:
    """Validate *form*, run *change* and commit it, then say *done*; or show what was wrong and keep nothing."""
    if not form.validate_on_submit():
        flash_form_errors(form)
        return
    try:
        change()
        get_session().commit()
        flash(done, "info")
    except ProjectError as exc:
        fail(exc)


def nav_args(**override: Any) -> dict[str, Any]:
    """Return the coding screen's filter arguments of this request, with *override* on top."""
    # The filter's code travels as "with_code": "code" is the name of the coding form's checkboxes.
    args = {k: request.values.get(k) for k in ("filter", "with_code", "round") if request.values.get(k)}
    args.update({k: v for k, v in override.items() if v is not None})
    return args
