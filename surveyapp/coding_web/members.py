"""A coding project's team on its page: owners (manage the project) and coders; added by an owner or an admin."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from sqlalchemy import select

from coding.store import Project, ProjectMember

from ..auth.access import allowed, can, require
from ..auth.forms import MemberForm
from ..auth.members import eligible
from ..auth.models import User
from ..db import get_session
from .blueprint import bp
from .forms import ActionForm
from .view_helpers import project_or_404

PROJECT_ROLES = ("owner", "coder")


def _form() -> MemberForm:
    form = MemberForm()
    form.user.choices = eligible(get_session(), ("investigator", "coder"))
    form.role.choices = list(PROJECT_ROLES)
    return form


def team(project: Project) -> dict[str, Any]:
    """Return what the project page shows of its team: members, and the form to add one when I may."""
    db = get_session()
    rows = db.execute(select(User, ProjectMember.role).join(ProjectMember, ProjectMember.user_id == User.id)
                      .where(ProjectMember.project_id == project.id).order_by(User.email)).all()
    user = require("project_code", project=project)
    return {"members": rows,
            "member_form": _form() if can(db, user, "project_members", project=project) else None}


@bp.post("/<name>/members")
@allowed("project_members")
def add_member(name: str) -> Any:
    """Add an account to the project's team, or change its role there."""
    proj = project_or_404(name)
    db = get_session()
    form = _form()
    if form.validate_on_submit():
        row = db.get(ProjectMember, (proj.id, form.user.data))
        if row is None:
            db.add(ProjectMember(project_id=proj.id, user_id=form.user.data, role=form.role.data))
        else:
            row.role = form.role.data or row.role
        db.commit()
        flash("Team updated.", "info")
    else:
        flash("Team: choose an investigator's or coder's account and a role (owner or coder).", "error")
    return redirect(url_for(".project", name=name))


@bp.post("/<name>/members/<int:user_id>/remove")
@allowed("project_members")
def remove_member(name: str, user_id: int) -> Any:
    """Take an account off the project's team."""
    proj = project_or_404(name)
    db = get_session()
    row = db.get(ProjectMember, (proj.id, user_id))
    if ActionForm().validate_on_submit() and row is not None:
        db.delete(row)
        db.commit()
        flash("Taken off the team.", "info")
    return redirect(url_for(".project", name=name))
