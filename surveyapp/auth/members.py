"""Teams: survey members (``owner`` or ``member``), and adding to and taking off a survey's or project's team.

A coding project's members live with the coding tables (:class:`coding.store.ProjectMember`); :mod:`.access`
reads both. Accounts are disabled, never deleted, so a member row outlives nothing it names.
"""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_wtf import FlaskForm
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Base
from .forms import MemberForm
from .models import User

SURVEY_ROLES = ("owner", "member")
SURVEY_ACCOUNTS = ("investigator", "viewer")  # the roles whose accounts a survey's team may hold


class SurveyMember(Base):
    """An account's place in one survey's team."""

    __tablename__ = "survey_members"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    role: Mapped[str] = mapped_column(String(10))


def survey_role(db: Session, user_id: int, slug: str) -> str | None:
    """Return the user's role in survey *slug* (owner or member), or None when they are not in its team."""
    return db.scalar(select(SurveyMember.role).where(SurveyMember.user_id == user_id,
                                                     SurveyMember.survey_slug == slug))


def eligible(db: Session, roles: tuple[str, ...]) -> list[tuple[int, str]]:
    """Return (id, label) of the enabled accounts of *roles*: the choices of a team's "add" form."""
    users = db.scalars(select(User).where(User.role.in_(roles), User.disabled.is_(False)).order_by(User.email))
    return [(u.id, f"{u.label} ({u.role})") for u in users]


def team_form(db: Session, accounts: tuple[str, ...], roles: tuple[str, ...]) -> MemberForm:
    """Return the "add to the team" form: enabled accounts of the roles *accounts*, team roles *roles*."""
    form = MemberForm()
    form.user.choices = eligible(db, accounts)
    form.role.choices = list(roles)
    return form


def save_member(db: Session, form: MemberForm, model: type[Any], **team: Any) -> None:
    """Add the form's account to the team *team* names (or change its role there) and say so, or say what was wrong.

    *model* is the team's table (SurveyMember, coding's ProjectMember); *team* its key without ``user_id``.
    """
    if not form.validate_on_submit():
        flash(f"Team: choose one of the accounts listed and a role ({' or '.join(map(str, form.role.choices))}).",
              "error")
        return
    row = db.get(model, {**team, "user_id": form.user.data})
    if row is None:
        db.add(model(user_id=form.user.data, role=form.role.data, **team))
    else:
        row.role = form.role.data
    db.commit()
    flash("Team updated.", "info")


def drop_member(db: Session, model: type[Any], **key: Any) -> None:
    """Take the account *key* names off its team (a POST with a CSRF token)."""
    row = db.get(model, key)
    if FlaskForm().validate_on_submit() and row is not None:
        db.delete(row)
        db.commit()
        flash("Taken off the team.", "info")
