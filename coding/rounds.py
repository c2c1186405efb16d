"""Rounds: batches of units coded blind, each coder's progress, finishing and closing them.

Finishing a round reveals the other coders' codes on its units to the coder who finished (see blindness).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.blindness import reviewed_by
from coding.store import Progress, Project, ProjectError, Review, Round, RoundUnit, Unit, utcnow


def next_round_name(session: Session, project: Project) -> str:
    """Return the first free name 'Round N'."""
    names = set(session.scalars(select(Round.name).where(Round.project_id == project.id)).all())
    n = len(names) + 1
    while f"Round {n}" in names:
        n += 1
    return f"Round {n}"


def create_round(session: Session, project: Project, name: str, unit_ids: Collection[int],
                 state: str = "open") -> Round:
    """Create a round of the given units (a unit may be in several rounds, e.g. to code it again)."""
    name = name.strip()
    if not name:
        raise ProjectError("a round needs a name")
    if session.scalar(select(Round).filter_by(project_id=project.id, name=name)) is not None:
        raise ProjectError(f"round '{name}' exists already in project '{project.name}'")
    if state not in ("open", "closed"):
        raise ProjectError(f"round state {state!r}: open or closed")
    rnd = Round(project_id=project.id, name=name, state=state, created_at=utcnow())
    session.add(rnd)
    session.flush()
    session.add_all(RoundUnit(round_id=rnd.id, unit_id=u) for u in sorted(set(unit_ids)))
    session.flush()
    return rnd


def rounds(session: Session, project: Project) -> list[Round]:
    """Return the project's rounds, oldest first."""
    return list(session.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.id)).all())


def get_round(session: Session, project: Project, name_or_id: str | int) -> Round:
    """Return a round by name or id; raise ProjectError if there is none."""
    query = select(Round).where(Round.project_id == project.id)
    if isinstance(name_or_id, int):
        rnd = session.scalar(query.where(Round.id == name_or_id))
    else:
        rnd = session.scalar(query.where(Round.name == name_or_id))
    if rnd is None:
        raise ProjectError(f"no round {name_or_id!r} in project '{project.name}'")
    return rnd


def round_progress(session: Session, rnd: Round) -> list[dict[str, Any]]:
    """Return each coder's progress on a round: coder, units reviewed, units in the round, finished."""
    total = session.scalar(select(func.count()).select_from(RoundUnit).where(RoundUnit.round_id == rnd.id)) or 0
    done: dict[str, int] = dict(session.execute(  # type: ignore[arg-type]
        select(Review.coder, func.count()).join(RoundUnit, RoundUnit.unit_id == Review.unit_id)
        .where(RoundUnit.round_id == rnd.id).group_by(Review.coder)).all())
    finished = {p.coder: p.finished for p in session.scalars(select(Progress).where(Progress.round_id == rnd.id))}
    return [{"coder": c, "reviewed": done.get(c, 0), "total": total, "finished": finished.get(c, False)}
            for c in sorted(set(done) | set(finished))]


def finish_round(session: Session, rnd: Round, coder: str) -> Progress:
    """Mark *coder* as done with *rnd*, revealing the others' codes on its units to them.

    Refused while the coder has units of the round without a review (read and coded, possibly with no code).
    """
    missing = session.scalars(
        select(Unit.label).join(RoundUnit, RoundUnit.unit_id == Unit.id)
        .where(RoundUnit.round_id == rnd.id, ~reviewed_by(coder)).order_by(Unit.position).limit(1)).first()
    if missing is not None:
        left = session.scalar(select(func.count()).select_from(Unit).join(RoundUnit, RoundUnit.unit_id == Unit.id)
                              .where(RoundUnit.round_id == rnd.id, ~reviewed_by(coder)))
        raise ProjectError(f"round '{rnd.name}': {left} unit(s) not coded by {coder} yet, first {missing!r}")
    progress = session.get(Progress, (rnd.id, coder))
    if progress is None:
        progress = Progress(round_id=rnd.id, coder=coder)
        session.add(progress)
    progress.finished = True
    progress.finished_at = utcnow()
    session.flush()
    return progress


def close_round(session: Session, rnd: Round) -> None:
    """Close a round: every coder now sees every code on its units."""
    rnd.state = "closed"
    session.flush()

