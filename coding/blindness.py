"""Blindness: what each coder may see of the other coders' work.

A coder sees the other coders' codes on a unit only once the unit is *revealed* to them, i.e. it belongs to a
round they have finished or a round that is closed. From then on their own codes on that unit are frozen (they
have seen the others'); disagreements are settled by consensus, not by quiet edits.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.store import Application, Progress, Project, Review, Round, RoundUnit, Unit


def reviewed_by(coder: str) -> ColumnElement[bool]:
    """SQL condition on Unit: *coder* has reviewed the unit (read and coded it, possibly with no code)."""
    return exists().where(Review.unit_id == Unit.id, Review.coder == coder)


def revealed_clause(coder: str) -> ColumnElement[bool]:
    """SQL condition on Unit: the unit is revealed to *coder* (a round of it is closed or finished by them)."""
    finished = exists().where(Progress.round_id == Round.id, Progress.coder == coder, Progress.finished.is_(True))
    return exists().where(RoundUnit.unit_id == Unit.id, Round.id == RoundUnit.round_id,
                          or_(Round.state == "closed", finished))


def is_revealed(session: Session, unit_id: int, coder: str) -> bool:
    """Say whether the others' codes on a unit are visible to *coder*."""
    return bool(session.scalar(select(revealed_clause(coder)).select_from(Unit).where(Unit.id == unit_id)))


@dataclass
class CoderView:
    """One coder's work on a unit: memo and codes (id -> representative-quote flag)."""

    coder: str
    memo: str
    codes: dict[int, bool]


def unit_reviews(session: Session, unit_ids: Collection[int]) -> dict[int, dict[str, CoderView]]:
    """Return every coder's review of the given units: unit id -> coder -> CoderView (no blindness applied)."""
    out: dict[int, dict[str, CoderView]] = {}
    if not unit_ids:
        return out
    ids = list(unit_ids)
    for review in session.scalars(select(Review).where(Review.unit_id.in_(ids))):
        out.setdefault(review.unit_id, {})[review.coder] = CoderView(review.coder, review.memo, {})
    for app in session.scalars(select(Application).where(Application.unit_id.in_(ids))):
        out[app.unit_id][app.coder].codes[app.code_id] = app.quote
    return out


def visible_reviews(session: Session, unit_id: int, viewer: str) -> dict[str, CoderView]:
    """Return the reviews of a unit that *viewer* may see: their own always, the others' once revealed."""
    reviews = unit_reviews(session, [unit_id]).get(unit_id, {})
    if is_revealed(session, unit_id, viewer):
        return reviews
    return {c: v for c, v in reviews.items() if c == viewer}


def revealed_unit_ids(session: Session, project: Project, viewer: str) -> list[int]:
    """Return the ids of the project's units revealed to *viewer*."""
    return list(session.scalars(select(Unit.id).where(Unit.project_id == project.id,
                                                      revealed_clause(viewer))).all())
