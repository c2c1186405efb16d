"""A coding project's team on its page: owners (manage the project) and coders; added by an owner or an admin."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from sqlalchemy import select

from coding.store import Project, ProjectMember

from ..auth.access import allowed, can, require
from ..auth.members import drop_member, save_member, team_form
from ..auth.models import User
from ..db import get_session
from .blueprint import bp
from .view_helpers import project_or_404

PROJECT_ROLES = ("owner", "coder")
PROJECT_ACCOUNTS = ("investigator", "coder")  # the roles whose accounts a project's team may hold


def team(project: Project) -> dict[str, Any]:
    """Return what the project page shows of its team: members, and the form to add one when I may."""
    db = get_session()
    rows = db.execute(select(User, ProjectMember.role).join(ProjectMember, ProjectMember.user_id == User.id)
                      .where(ProjectMember.project_id == project.id).order_by(User.email)).all()
    user = require("project_code", project=project)
    form = None
    if can(db, user, "project_members", project=project):
        form = team_form(db, PROJECT_ACCOUNTS, PROJECT_ROLES)
    return {"members": rows, "member_form": form}


@bp.post("/<name>/members")
@allowed("project_members")
def add_member(name: str) -> Any:
    """Add an account to the project's team, or change its role there."""
    proj = project_or_404(name)
    db = get_session()
    save_member(db, team_form(db, PROJECT_ACCOUNTS, PROJECT_ROLES), ProjectMember, project_id=proj.id)
    return redirect(url_for(".project", name=name))


@bp.post("/<name>/members/<int:user_id>/remove")
@allowed("project_members")
def remove_member(name: str, user_id: int) -> Any:
    """Take an account off the project's team."""
    drop_member(get_session(), ProjectMember, project_id=project_or_404(name).id, user_id=user_id)
    return redirect(url_for(".project", name=name))
