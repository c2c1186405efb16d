"""Coding projects: units, rounds, blind coding and agreement, as plain functions taking a SQLAlchemy Session.

Functions flush but never commit: the caller (a CLI command, a web request) commits once or rolls back, so a
failed action leaves nothing half-written.

Blindness: a coder sees the other coders' codes on a unit only once the unit is *revealed* to them, i.e. it
belongs to a round they have finished or a round that is closed. From then on their own codes on that unit
are frozen (they have seen the others'); disagreements are settled by consensus, not by quiet edits.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.codes import Tree, load_tree
from coding.store import (
    Application,
    Progress,
    Project,
    ProjectError,
    Review,
    Round,
    RoundUnit,
    Source,
    Unit,
    utcnow,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
FILTERS = ("all", "uncoded", "coded", "disputed", "rereview", "code")


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


# Projects

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


# Units and rounds

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
        .where(RoundUnit.round_id == rnd.id, ~_reviewed_by(coder)).order_by(Unit.position).limit(1)).first()
    if missing is not None:
        left = session.scalar(select(func.count()).select_from(Unit).join(RoundUnit, RoundUnit.unit_id == Unit.id)
                              .where(RoundUnit.round_id == rnd.id, ~_reviewed_by(coder)))
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


# Blindness

def _reviewed_by(coder: str) -> ColumnElement[bool]:
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


# Coding

def _unit(session: Session, project: Project, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or unit.project_id != project.id:
        raise ProjectError(f"no unit {unit_id} in project '{project.name}'")
    return unit


def set_codes(session: Session, project: Project, unit_id: int, coder: str, code_ids: Collection[int], *,
              memo: str = "", quotes: Collection[int] = (), memos: dict[int, str] | None = None) -> Review:
    """Record *coder*'s complete coding of a unit: exactly these codes (may be none), memo, quote flags.

    Refused once the unit is revealed to the coder (their blind codes are then frozen) and for codes that
    are retired or not in the project's codebook.
    """
    unit = _unit(session, project, unit_id)
    if is_revealed(session, unit.id, coder):
        raise ProjectError(f"unit {unit.label!r}: {coder} has seen the other coders' codes (round finished); "
                           "codes are frozen, record a consensus instead")
    tree = load_tree(session, project.id)
    wanted = set(code_ids)
    _check_codes(tree, wanted, unit.label, allow_retired=_current_codes(session, unit.id, coder))
    if not set(quotes) <= wanted:
        raise ProjectError(f"unit {unit.label!r}: a representative quote must be for a code applied to it")
    review = session.get(Review, (unit.id, coder))
    if review is None:
        review = Review(unit_id=unit.id, coder=coder, memo="")
        session.add(review)
        session.flush()
        _join_open_rounds(session, unit.id, coder)
    review.memo = memo.strip()
    current = {a.code_id: a for a in session.scalars(select(Application).filter_by(unit_id=unit.id, coder=coder))}
    for code_id, app in current.items():
        if code_id not in wanted:
            session.delete(app)
    for code_id in wanted:
        app = current.get(code_id) or Application(unit_id=unit.id, coder=coder, code_id=code_id, memo="")
        app.quote = code_id in set(quotes)
        if memos is not None:
            app.memo = (memos.get(code_id) or "").strip()
        session.add(app)
    session.flush()
    return review


def _current_codes(session: Session, unit_id: int, coder: str) -> set[int]:
    return set(session.scalars(select(Application.code_id).filter_by(unit_id=unit_id, coder=coder)).all())


def _check_codes(tree: Tree, code_ids: set[int], label: str, allow_retired: Collection[int] = ()) -> None:
    for code_id in code_ids:
        if code_id not in tree.codes:
            raise ProjectError(f"unit {label!r}: code {code_id} is not in this project's codebook")
        # A code already applied may stay even if retired since (re-saving a unit must not fail).
        if code_id not in allow_retired and retired_in(tree, code_id):
            raise ProjectError(f"unit {label!r}: code {tree.path(code_id)!r} is retired")


def retired_in(tree: Tree, code_id: int) -> bool:
    """Say whether a code is retired, itself or through an ancestor."""
    return any(tree.codes[c].retired for c in (code_id, *tree.ancestors(code_id)))


def _join_open_rounds(session: Session, unit_id: int, coder: str) -> None:
    """Create the coder's progress row in the open rounds of a unit, so round pages list them as coders."""
    open_rounds = session.scalars(select(Round.id).join(RoundUnit, RoundUnit.round_id == Round.id)
                                  .where(RoundUnit.unit_id == unit_id, Round.state == "open")).all()
    for round_id in open_rounds:
        if session.get(Progress, (round_id, coder)) is None:
            session.add(Progress(round_id=round_id, coder=coder, finished=False))


def apply_code(session: Session, project: Project, unit_id: int, coder: str, code_id: int,
               quote: bool = False) -> None:
    """Add one code to *coder*'s coding of a unit (keeping the others)."""
    current = _current_codes(session, unit_id, coder)
    review = session.get(Review, (unit_id, coder))
    quotes = {a.code_id for a in session.scalars(select(Application).filter_by(unit_id=unit_id, coder=coder))
              if a.quote}
    if quote:
        quotes.add(code_id)
    set_codes(session, project, unit_id, coder, current | {code_id}, memo=review.memo if review else "",
              quotes=quotes)


def remove_code(session: Session, project: Project, unit_id: int, coder: str, code_id: int) -> None:
    """Remove one code from *coder*'s coding of a unit."""
    current = _current_codes(session, unit_id, coder)
    review = session.get(Review, (unit_id, coder))
    quotes = {a.code_id for a in session.scalars(select(Application).filter_by(unit_id=unit_id, coder=coder))
              if a.quote}
    set_codes(session, project, unit_id, coder, current - {code_id}, memo=review.memo if review else "",
              quotes=quotes - {code_id})


def clear_review(session: Session, project: Project, unit_id: int, coder: str) -> None:
    """Withdraw *coder*'s review of a unit (back to uncoded), unless the unit is revealed to them."""
    unit = _unit(session, project, unit_id)
    if is_revealed(session, unit.id, coder):
        raise ProjectError(f"unit {unit.label!r}: codes are frozen once the round is finished")
    session.execute(delete(Review).where(Review.unit_id == unit.id, Review.coder == coder))
    session.flush()


# Navigation for the coding screen: one unit at a time, by position, filtered in SQL.

def filter_clause(project: Project, viewer: str, name: str, code_id: int | None = None,
                  round_id: int | None = None) -> ColumnElement[bool]:
    """Return the SQL condition on Unit for a coding-screen filter (see FILTERS)."""
    from coding.evolution import open_rereview_clause
    from coding.reconcile import disputed_clause

    parts: list[ColumnElement[bool]] = [Unit.project_id == project.id]
    if round_id is not None:
        parts.append(exists().where(RoundUnit.unit_id == Unit.id, RoundUnit.round_id == round_id))
    if name == "uncoded":
        parts.append(~_reviewed_by(viewer))
    elif name == "coded":
        parts.append(_reviewed_by(viewer))
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


# Agreement

def codings(session: Session, project: Project, unit_ids: Collection[int] | None = None,
            round_id: int | None = None) -> dict[str, dict[str, frozenset[str]]]:
    """Return the project's codings as unit label -> coder -> code paths (the input of agreement_report)."""
    tree = load_tree(session, project.id)
    review_q = (select(Unit.id, Unit.label, Review.coder).join(Review, Review.unit_id == Unit.id)
                .where(Unit.project_id == project.id).order_by(Unit.position, Review.coder))
    app_q = (select(Application.unit_id, Application.coder, Application.code_id)
             .join(Unit, Unit.id == Application.unit_id).where(Unit.project_id == project.id))
    if round_id is not None:
        in_round = exists().where(RoundUnit.unit_id == Unit.id, RoundUnit.round_id == round_id)
        review_q = review_q.where(in_round)
        app_q = app_q.where(in_round)
    applied: dict[tuple[int, str], set[str]] = {}
    for unit_id, coder, code_id in session.execute(app_q):
        applied.setdefault((unit_id, coder), set()).add(tree.path(code_id))
    wanted = set(unit_ids) if unit_ids is not None else None
    out: dict[str, dict[str, frozenset[str]]] = {}
    for unit_id, label, coder in session.execute(review_q):
        if wanted is None or unit_id in wanted:
            out.setdefault(label, {})[coder] = frozenset(applied.get((unit_id, coder), ()))
    return out


def revealed_unit_ids(session: Session, project: Project, viewer: str) -> list[int]:
    """Return the ids of the project's units revealed to *viewer*."""
    return list(session.scalars(select(Unit.id).where(Unit.project_id == project.id,
                                                      revealed_clause(viewer))).all())


def project_agreement(session: Session, project: Project, *, unit_ids: Collection[int] | None = None,
                      round_id: int | None = None, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Compute the agreement report (coding.agreement's JSON shape) over the project's codings."""
    from coding.agreement import agreement_report  # NumPy and SciPy: loaded only by processes that report

    data = codings(session, project, unit_ids=unit_ids, round_id=round_id)
    if not data:
        raise ProjectError(f"project '{project.name}' has no coded units yet")
    return agreement_report(data, bootstrap=bootstrap, seed=seed)


def coders(session: Session, project: Project) -> list[str]:
    """Return the coders who reviewed at least one unit of the project."""
    return list(session.scalars(select(Review.coder).join(Unit, Unit.id == Review.unit_id)
                                .where(Unit.project_id == project.id).distinct().order_by(Review.coder)).all())


def units_by_label(session: Session, project: Project, labels: Sequence[str]) -> dict[str, Unit]:
    """Return the project's units with the given labels."""
    rows = session.scalars(select(Unit).where(Unit.project_id == project.id, Unit.label.in_(list(labels))))
    return {u.label: u for u in rows}


def code_ids(session: Session, project: Project, paths: Iterable[str]) -> set[int]:
    """Return the ids of codes given by path; raise ProjectError naming an unknown path."""
    tree = load_tree(session, project.id)
    return {tree.id_of(p) for p in paths}

