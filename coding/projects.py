"""Coding projects: create and find them, the survey questions that feed them, their units and counts.

Functions here and in the sibling modules (rounds, blindness, applying, navigation) take a SQLAlchemy Session
and flush but never commit: the caller (a CLI command, a web request) commits once or rolls back, so a failed
action leaves nothing half-written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.rounds import create_round, next_round_name
from coding.store import Application, Project, ProjectError, Review, Round, Source, Unit, utcnow

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

@dataclass(frozen=True)
class NewUnit:
    """A unit to add: where it came from (unique in the project), its text, label and respondent."""

    source: str
    text: str
    label: str = ""
    respondent: str = ""


@dataclass
class AddResult:
    """What :func:`add_units` did."""

    added: int = 0
    existing: int = 0
    blank: int = 0
    round: Round | None = None
    units: list[Unit] = field(default_factory=list)


def create_project(session: Session, name: str, created_by: str = "", description: str = "") -> Project:
    """Create an empty project called *name*."""
    if not NAME_RE.match(name):
        raise ProjectError(f"project name {name!r}: use letters, digits, '.', '_' and '-' (up to 100)")
    if session.scalar(select(Project).where(Project.name == name)) is not None:
        raise ProjectError(f"project '{name}' exists already")
    project = Project(name=name, created_by=created_by, description=description, created_at=utcnow())
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, name: str) -> Project:
    """Return the project called *name*; raise ProjectError if there is none."""
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise ProjectError(f"no coding project '{name}'")
    return project


def find_project(session: Session, name: str) -> Project | None:
    """Return the project called *name*, or None."""
    return session.scalar(select(Project).where(Project.name == name))


def list_projects(session: Session) -> list[Project]:
    """Return every project, by name."""
    return list(session.scalars(select(Project).order_by(Project.name)).all())


def add_source(session: Session, project: Project, survey: str, question: str) -> Source:
    """Remember that answers to *question* of *survey* feed the project (idempotent)."""
    found = session.scalar(select(Source).filter_by(project_id=project.id, survey=survey, question=question))
    if found is None:
        found = Source(project_id=project.id, survey=survey, question=question)
        session.add(found)
        session.flush()
    return found


def project_stats(session: Session, project: Project) -> dict[str, int]:
    """Return counts: units, coders, reviews, applications."""
    units = session.scalar(select(func.count()).select_from(Unit).where(Unit.project_id == project.id)) or 0
    review_q = select(Review).join(Unit, Unit.id == Review.unit_id).where(Unit.project_id == project.id)
    reviews = session.scalar(select(func.count()).select_from(review_q.subquery())) or 0
    coders = session.scalar(select(func.count(func.distinct(Review.coder))).join(Unit, Unit.id == Review.unit_id)
                            .where(Unit.project_id == project.id)) or 0
    return {"units": units, "coders": coders, "reviews": reviews,
            "applications": count_applications(session, project)}


def count_applications(session: Session, project: Project) -> int:
    """Return how many (unit, coder, code) applications the project holds."""
    return session.scalar(select(func.count()).select_from(Application).join(Unit, Unit.id == Application.unit_id)
                          .where(Unit.project_id == project.id)) or 0


def add_units(session: Session, project: Project, units: Iterable[NewUnit], round_name: str | None = None, *,
              make_round: bool = True, keep_order: bool = False) -> AddResult:
    """Add units whose source is new to the project (blank texts are skipped) as a new round of their own.

    Units are numbered in source order, not in the order given: survey sources end in a random response
    key, so positions say nothing about when an answer arrived. *keep_order* numbers them as given instead
    (imported spreadsheets, whose row order the team chose).
    """
    result = AddResult()
    known = set(session.scalars(select(Unit.source).where(Unit.project_id == project.id)).all())
    labels = set(session.scalars(select(Unit.label).where(Unit.project_id == project.id)).all())
    fresh: dict[str, NewUnit] = {}
    for unit in units:
        if not unit.text or not unit.text.strip():
            result.blank += 1
        elif unit.source in known or unit.source in fresh:
            result.existing += 1
        else:
            fresh[unit.source] = unit
    if not fresh:
        return result
    position = session.scalar(select(func.max(Unit.position)).where(Unit.project_id == project.id)) or 0
    for source in (fresh if keep_order else sorted(fresh)):
        unit = fresh[source]
        label = unit.label or source
        if label in labels:
            raise ProjectError(f"unit label {label!r} is already used in project '{project.name}'")
        labels.add(label)
        position += 1
        row = Unit(project_id=project.id, source=source, label=label, respondent=unit.respondent or label,
                   text=unit.text.strip(), position=position)
        session.add(row)
        result.units.append(row)
    session.flush()
    result.added = len(result.units)
    if make_round:
        result.round = create_round(session, project, round_name or next_round_name(session, project),
                                    [u.id for u in result.units])
    return result


def coders(session: Session, project: Project) -> list[str]:
    """Return the coders who reviewed at least one unit of the project."""
    return list(session.scalars(select(Review.coder).join(Unit, Unit.id == Review.unit_id)
                                .where(Unit.project_id == project.id).distinct().order_by(Review.coder)).all())


def units_by_label(session: Session, project: Project, labels: Sequence[str]) -> dict[str, Unit]:
    """Return the project's units with the given labels."""
    rows = session.scalars(select(Unit).where(Unit.project_id == project.id, Unit.label.in_(list(labels))))
    return {u.label: u for u in rows}


