"""Who may do what: the one place that decides, asked by every investigators', coding and download view.

Roles (:data:`.models.ROLES`): an **admin** may do everything; an **investigator** creates surveys and coding
projects and sees, edits and exports those whose team they are in (owners also add members); a **coder** sees
only the coding pages of projects they are a member of, never a survey page or export; a **viewer** sees shared
results of the surveys they were added to, and no investigators' page.

A page about one survey or project that the user may not see answers 404, like one that does not exist, so
nobody learns which slugs or project names there are; a page of no survey that a role may not use answers 403.
Views take :func:`allowed` as their decorator (it also sends visitors who are not logged in to the log-in page),
or call :func:`require` when the subject is known only inside the view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.projects import find_project
from coding.store import Project, ProjectMember

from ..db import get_session
from ..studies.models import StudyWave
from .members import SurveyMember, survey_role
from .models import User
from .routes import current_user

F = TypeVar("F", bound=Callable[..., Any])

# action -> (roles allowed whatever the subject, roles allowed by a membership of the subject, membership roles)
# A membership role of None: any membership will do.
RULES: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str] | None]] = {
    "accounts": (frozenset({"admin"}), frozenset(), None),
    "survey_list": (frozenset({"admin", "investigator"}), frozenset(), None),
    "survey_create": (frozenset({"admin", "investigator"}), frozenset(), None),
    # The instruments on offer are the installation's, not one survey's: who creates surveys writes them.
    "instruments": (frozenset({"admin", "investigator"}), frozenset(), None),
    "survey_view": (frozenset({"admin"}), frozenset({"investigator"}), None),
    "survey_edit": (frozenset({"admin"}), frozenset({"investigator"}), None),
    "survey_export": (frozenset({"admin"}), frozenset({"investigator"}), None),
    "survey_members": (frozenset({"admin"}), frozenset({"investigator"}), frozenset({"owner"})),
    "survey_results": (frozenset({"admin"}), frozenset({"investigator", "viewer"}), None),
    # A study's page shows its waves' answers: an investigator needs a membership of every wave (require_study).
    "study_view": (frozenset({"admin"}), frozenset({"investigator"}), None),
    "project_list": (frozenset({"admin", "investigator", "coder"}), frozenset(), None),
    "project_create": (frozenset({"admin", "investigator"}), frozenset(), None),
    "project_code": (frozenset({"admin"}), frozenset({"investigator", "coder"}), None),
    "project_manage": (frozenset({"admin"}), frozenset({"investigator"}), frozenset({"owner"})),
    "project_members": (frozenset({"admin"}), frozenset({"investigator"}), frozenset({"owner"})),
}
SURVEY_ACTIONS = frozenset(a for a in RULES if a.startswith("survey_") and a not in ("survey_list", "survey_create"))
PROJECT_ACTIONS = frozenset(a for a in RULES if a.startswith("project_") and a not in ("project_list",
                                                                                         "project_create"))


def project_role(db: Session, user: User, project: Project) -> str | None:
    """Return the user's role in *project* (owner or coder), or None; its creator is its owner."""
    found = db.scalar(select(ProjectMember.role).where(ProjectMember.project_id == project.id,
                                                       ProjectMember.user_id == user.id))
    if found is None and project.created_by and project.created_by == user.email:
        return "owner"
    return found


def can(db: Session, user: User | None, action: str, survey: str | None = None,
        project: Project | None = None) -> bool:
    """Return whether *user* may do *action* (on survey slug *survey* or *project*, when the action has one)."""
    everywhere, by_membership, membership = RULES[action]
    if user is None or user.disabled:
        return False
    if user.role in everywhere:
        return True
    if user.role not in by_membership:
        return False
    if action in SURVEY_ACTIONS:
        held = survey_role(db, user.id, survey) if survey is not None else None
    else:
        held = project_role(db, user, project) if project is not None else None
    return held is not None and (membership is None or held in membership)


def require(action: str, survey: str | None = None, project: Project | None = None) -> User:
    """Return the logged-in user when they may do *action*; else answer 404 (a subject) or 403 (none)."""
    user = current_user()
    if can(get_session(), user, action, survey, project):
        assert user is not None
        return user
    if action in SURVEY_ACTIONS:
        abort(404, f"There is no survey '{survey}'.")
    if action in PROJECT_ACTIONS:
        abort(404, f"There is no coding project '{project.name if project else ''}'.")
    abort(403, "Your account's role does not give access to this page.")


def require_study(slug: str) -> User:
    """Return the logged-in user when they may see every wave of study *slug*; else answer 404, as for no study."""
    user = current_user()
    db = get_session()
    waves = list(db.scalars(select(StudyWave.survey_slug).where(StudyWave.study_slug == slug)))
    if user is not None and not user.disabled and (
            user.role == "admin" or (waves and all(can(db, user, "survey_view", wave) for wave in waves))):
        return user
    abort(404, f"There is no study '{slug}'.")


def visible_studies(db: Session, user: User) -> set[str] | None:
    """Return the slugs of the studies *user* may open (every wave visible), or None for all (an admin)."""
    surveys = visible_surveys(db, user)
    if surveys is None:
        return None
    waves: dict[str, list[str]] = {}
    for study, survey in db.execute(select(StudyWave.study_slug, StudyWave.survey_slug)):
        waves.setdefault(study, []).append(survey)
    return {study for study, slugs in waves.items() if all(s in surveys for s in slugs)}


def allowed(action: str) -> Callable[[F], F]:
    """Decorate a view: log-in first, then :func:`require` *action* on the route's ``slug`` or ``name``."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user() is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            project = None
            if action in PROJECT_ACTIONS:
                project = find_project(get_session(), kwargs.get("name", ""))
                if project is None:
                    abort(404, f"There is no coding project '{kwargs.get('name', '')}'.")
            if action == "study_view":
                require_study(kwargs.get("slug", ""))
            else:
                require(action, survey=kwargs.get("slug"), project=project)
            return view(*args, **kwargs)

        wrapped.access_action = action  # type: ignore[attr-defined]  # the role test reads it
        return wrapped  # type: ignore[return-value]

    return decorate


def visible_surveys(db: Session, user: User) -> set[str] | None:
    """Return the slugs of the surveys *user* may see in lists, or None for all of them (an admin)."""
    if user.role == "admin":
        return None
    return set(db.scalars(select(SurveyMember.survey_slug).where(SurveyMember.user_id == user.id)))


def visible_projects(db: Session, user: User) -> set[int] | None:
    """Return the ids of the projects *user* may open, or None for all of them (an admin)."""
    if user.role == "admin":
        return None
    ids = set(db.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)))
    if user.role == "investigator":
        ids |= set(db.scalars(select(Project.id).where(Project.created_by == user.email)))
    return ids

