"""Applying codes: a coder's complete coding of a unit (codes, memo, quote flags), checked against the codebook.

Blind codes are frozen once the unit is revealed to the coder (see blindness); retired codes are refused
unless already applied.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.blindness import is_revealed
from coding.codebook.stored import Tree, load_tree
from coding.store import Application, Progress, Project, ProjectError, Review, Round, RoundUnit, Unit


def project_unit(session: Session, project: Project, unit_id: int) -> Unit:
    """Return a unit of *project*; raise ProjectError if it has no unit of that id."""
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
    unit = project_unit(session, project, unit_id)
    if is_revealed(session, unit.id, coder):
        raise ProjectError(f"unit {unit.label!r}: {coder} has seen the other coders' codes (round finished); "
                           "codes are frozen, record a consensus instead")
    tree = load_tree(session, project.id)
    wanted = set(code_ids)
    check_codes(tree, wanted, unit.label, allow_retired=_current_codes(session, unit.id, coder))
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


def check_codes(tree: Tree, code_ids: set[int], label: str, allow_retired: Collection[int] = ()) -> None:
    """Raise ProjectError naming the unit when a code is not in the codebook, or retired and not already applied."""
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
