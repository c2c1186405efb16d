"""Navigation for the coding screen: one unit at a time, by position, filtered in SQL."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.blindness import revealed_clause, reviewed_by
from coding.evolution import open_rereview_clause
from coding.reconcile import disputed_clause
from coding.store import Application, Project, ProjectError, RoundUnit, Unit

FILTERS = ("all", "uncoded", "coded", "disputed", "rereview", "code")


def filter_clause(project: Project, viewer: str, name: str, code_id: int | None = None,
                  round_id: int | None = None) -> ColumnElement[bool]:
    """Return the SQL condition on Unit for a coding-screen filter (see FILTERS)."""

    parts: list[ColumnElement[bool]] = [Unit.project_id == project.id]
    if round_id is not None:
        parts.append(exists().where(RoundUnit.unit_id == Unit.id, RoundUnit.round_id == round_id))
    if name == "uncoded":
        parts.append(~reviewed_by(viewer))
    elif name == "coded":
        parts.append(reviewed_by(viewer))
    elif name == "disputed":
        parts.append(and_(revealed_clause(viewer), disputed_clause()))
    elif name == "rereview":
        parts.append(open_rereview_clause(viewer))
    elif name == "code":
        if code_id is None:
            raise ProjectError("filter 'code' needs a code")
        # The viewer's own applications, plus the others' where revealed: never a peek behind the blind.
        mine = exists().where(Application.unit_id == Unit.id, Application.code_id == code_id,
                              Application.coder == viewer)
        anyone = exists().where(Application.unit_id == Unit.id, Application.code_id == code_id)
        parts.append(or_(mine, and_(revealed_clause(viewer), anyone)))
    elif name != "all":
        raise ProjectError(f"unknown filter {name!r} (known: {', '.join(FILTERS)})")
    return and_(*parts)


def unit_at(session: Session, where: ColumnElement[bool], position: int | None = None,
            direction: str = "here") -> Unit | None:
    """Return the unit at *position* ('here'), or the first matching after/before it ('next'/'previous').

    'here' falls back to the next match when the unit at *position* does not match; None when nothing does.
    """
    query = select(Unit).where(where)
    if direction == "previous":
        return session.scalar(query.where(Unit.position < (position or 0)).order_by(Unit.position.desc()).limit(1))
    if direction == "next":
        return session.scalar(query.where(Unit.position > (position or 0)).order_by(Unit.position).limit(1))
    return session.scalar(query.where(Unit.position >= (position or 0)).order_by(Unit.position).limit(1))


def count_where(session: Session, where: ColumnElement[bool]) -> int:
    """Return how many units match a filter."""
    return session.scalar(select(func.count()).select_from(Unit).where(where)) or 0


def rank_of(session: Session, where: ColumnElement[bool], position: int) -> int:
    """Return the 1-based rank of the unit at *position* among the units matching a filter."""
    return session.scalar(select(func.count()).select_from(Unit).where(where, Unit.position <= position)) or 0
