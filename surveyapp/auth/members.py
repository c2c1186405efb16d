"""Who belongs to which survey: survey members (``owner`` or ``member``), kept apart from the survey tables.

A coding project's members live with the coding tables (:class:`coding.store.ProjectMember`); :mod:`.access`
reads both. Accounts are disabled, never deleted, so a member row outlives nothing it names.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..models import Base
from .models import User

SURVEY_ROLES = ("owner", "member")


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
