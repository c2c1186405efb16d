"""A project's codings as plain data (unit label -> coder -> code paths), and the agreement report over them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from coding.codebook.stored import load_tree
from coding.store import Application, Project, ProjectError, Review, RoundUnit, Unit


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


def project_agreement(session: Session, project: Project, *, unit_ids: Collection[int] | None = None,
                      round_id: int | None = None, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Compute the agreement report (coding.agreement's JSON shape) over the project's codings."""
    from coding.agreement import agreement_report  # NumPy and SciPy: loaded only by processes that report

    data = codings(session, project, unit_ids=unit_ids, round_id=round_id)
    if not data:
        raise ProjectError(f"project '{project.name}' has no coded units yet")
    return agreement_report(data, bootstrap=bootstrap, seed=seed)
