"""Feed the assistance engine (coding.assist) from a stored coding project, with or without blindness.

Team-level reports (``evaluate_project``) see every coder's codes. What one reviewer is shown while coding
(``training_labels``, ``visible_codes``, ``scope_clause`` with a *viewer*) only uses codes that reviewer may
see, by the rules of ``coding.projects``: their own, and the other coders' and the consensus on units revealed
to them. A suggester trained on a viewer's labels therefore never learned a code the viewer could not see.

Training targets: ``CONSENSUS`` is the team's codes, i.e. the recorded consensus where there is one, else
the codes applied by more than half of the unit's (visible) coders; ``coder_target(email)`` is one coder's codes.

Every query selects columns, never ``Unit`` entities: the assistant runs next to the coding screen, which
loads exactly one unit per request.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.assist.sources import CodebookEntry
from coding.assist_log import count_by_coder, decisions
from coding.blindness import revealed_clause
from coding.codebook.stored import Tree, load_tree
from coding.codings import codings
from coding.navigation import filter_clause
from coding.store import (
    Application,
    AuditEntry,
    Consensus,
    ConsensusCode,
    Progress,
    Project,
    ProjectError,
    Review,
    Round,
    Unit,
)

CONSENSUS = "consensus"
_CODER = "coder:"


def coder_target(coder: str) -> str:
    """Return the training target meaning "this coder's codes"."""
    return _CODER + coder


def target_coder(target: str) -> str | None:
    """Return the coder of a ``coder_target``, or None for ``CONSENSUS``; raise ProjectError otherwise."""
    if target == CONSENSUS:
        return None
    if target.startswith(_CODER) and len(target) > len(_CODER):
        return target[len(_CODER):]
    raise ProjectError(f"training target {target!r}: use '{CONSENSUS}' or '{_CODER}<coder>'")


class Stamp(NamedTuple):
    """Cheap fingerprints of what the assistant depends on; a change means its models are stale."""

    units: tuple[Any, ...]
    codings: tuple[Any, ...]
    codebook: int


def change_stamp(session: Session, project_id: int) -> Stamp:
    """Return the project's current fingerprints (counts and sums, one query)."""
    in_project = Unit.project_id == project_id

    def over(*columns: Any, table: Any, join: bool = True) -> list[Any]:
        query = select(*columns).select_from(table)
        if join:
            query = query.join(Unit, Unit.id == table.unit_id)
        return [query.where(in_project).scalar_subquery()]

    # Sums catch a code swapped for another (same counts); a collision only delays a refit.
    parts = [
        *over(func.count(), table=Unit, join=False), *over(func.max(Unit.id), table=Unit, join=False),
        *over(func.count(), table=Review), *over(func.sum(Review.unit_id), table=Review),
        *over(func.count(), table=Application), *over(func.sum(Application.code_id), table=Application),
        *over(func.sum(Application.unit_id), table=Application),
        *over(func.count(), table=Consensus), *over(func.max(Consensus.decided_at), table=Consensus),
        *over(func.count(), table=ConsensusCode), *over(func.sum(ConsensusCode.code_id), table=ConsensusCode),
        select(func.count()).select_from(Round).where(Round.project_id == project_id, Round.state == "closed")
        .scalar_subquery(),
        select(func.count()).select_from(Progress).join(Round, Round.id == Progress.round_id)
        .where(Round.project_id == project_id, Progress.finished.is_(True)).scalar_subquery(),
        select(func.max(AuditEntry.version)).where(AuditEntry.project_id == project_id).scalar_subquery(),
    ]
    row = session.execute(select(*parts)).one()
    values = tuple(str(v) if v is not None else None for v in row)  # datetimes and Decimals compare as text
    return Stamp(values[:2], values[2:-1], int(row[-1] or 0))


def unit_texts(session: Session, project: Project, where: ColumnElement[bool] | None = None) -> dict[int, str]:
    """Return unit id -> text for the project's units (optionally those matching *where*), by position."""
    query = select(Unit.id, Unit.text).where(Unit.project_id == project.id)
    if where is not None:
        query = query.where(where)
    return {uid: text for uid, text in session.execute(query.order_by(Unit.position))}


def codebook_entries(session: Session, project: Project) -> list[CodebookEntry]:
    """Return (path, definition and "use when", example, "not when") of every code, the suggester's cold start."""
    tree = load_tree(session, project.id)
    return [(path, " ".join(t for t in (code.definition, code.use_when) if t), code.example, code.not_when)
            for path, code, _ in tree.walk()]


def coded_unit_ids(session: Session, project: Project) -> set[int]:
    """Return the ids of units some coder reviewed or the team decided on."""
    reviewed = select(Review.unit_id).join(Unit, Unit.id == Review.unit_id).where(Unit.project_id == project.id)
    decided = (select(Consensus.unit_id).join(Unit, Unit.id == Consensus.unit_id)
               .where(Unit.project_id == project.id))
    return set(session.scalars(reviewed.union(decided)).all())


# With unit ids, the queries filter the child tables' own unit_id (their primary keys start with it) and
# trust the ids to be the project's: joining units and filtering on the project makes SQLite walk every unit.

def _of_units(query: Any, unit_column: Any, project: Project, unit_ids: Collection[int] | None) -> Any:
    """Limit *query* on a child table to the given units, or to the project's units."""
    if unit_ids is not None:
        return query.where(unit_column.in_(list(unit_ids)))
    return query.join(Unit, Unit.id == unit_column).where(Unit.project_id == project.id)


def _reviews(session: Session, project: Project, unit_ids: Collection[int] | None = None,
             tree: Tree | None = None) -> dict[int, dict[str, frozenset[str]]]:
    tree = tree or load_tree(session, project.id)
    reviews = _of_units(select(Review.unit_id, Review.coder), Review.unit_id, project, unit_ids)
    apps = _of_units(select(Application.unit_id, Application.coder, Application.code_id), Application.unit_id,
                     project, unit_ids)
    found: dict[int, dict[str, set[str]]] = {}
    for uid, coder in session.execute(reviews):
        found.setdefault(uid, {})[coder] = set()
    for uid, coder, code_id in session.execute(apps):
        found[uid][coder].add(tree.path(code_id))
    return {u: {c: frozenset(s) for c, s in by.items()} for u, by in found.items()}


def _consensus(session: Session, project: Project, unit_ids: Collection[int] | None = None,
               tree: Tree | None = None) -> dict[int, frozenset[str]]:
    tree = tree or load_tree(session, project.id)
    decided = _of_units(select(Consensus.unit_id), Consensus.unit_id, project, unit_ids)
    codes = _of_units(select(ConsensusCode.unit_id, ConsensusCode.code_id), ConsensusCode.unit_id, project, unit_ids)
    found: dict[int, set[str]] = {uid: set() for uid in session.scalars(decided)}
    for uid, code_id in session.execute(codes):
        found[uid].add(tree.path(code_id))
    return {u: frozenset(s) for u, s in found.items()}


def _revealed(session: Session, project: Project, viewer: str, unit_ids: Collection[int] | None = None) -> set[int]:
    query = select(Unit.id).where(revealed_clause(viewer))
    query = query.where(Unit.id.in_(list(unit_ids))) if unit_ids is not None else query.where(
        Unit.project_id == project.id)
    return set(session.scalars(query).all())


def training_labels(session: Session, project: Project, target: str = CONSENSUS,
                    viewer: str | None = None) -> dict[int, frozenset[str]]:
    """Return unit id -> codes to train suggestions on, limited to what *viewer* may see (None: everything)."""
    from coding.assist.evaluate import majority  # loads scikit-learn, which fitting on these labels needs anyway

    coder = target_coder(target)
    reviews = _reviews(session, project)
    revealed = _revealed(session, project, viewer) if viewer is not None else None

    def visible(uid: int, by: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        if revealed is None or uid in revealed:
            return by
        return {c: codes for c, codes in by.items() if c == viewer}

    out: dict[int, frozenset[str]] = {}
    if coder is not None:
        for uid, by in reviews.items():
            seen = visible(uid, by)
            if coder in seen:
                out[uid] = seen[coder]
        return out
    for uid, codes in _consensus(session, project).items():
        if revealed is None or uid in revealed:
            out[uid] = codes
    for uid, by in reviews.items():
        seen = visible(uid, by)
        if uid not in out and seen:
            out[uid] = majority({str(uid): seen})[str(uid)]
    return out


@dataclass
class VisibleCodes:
    """The codes on a unit that one viewer may see: their own, the consensus and the other coders'."""

    mine: frozenset[str] | None = None
    consensus: frozenset[str] | None = None
    others: dict[str, frozenset[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.mine is not None or self.consensus is not None or bool(self.others)


def visible_codes(session: Session, project: Project, unit_ids: Collection[int], viewer: str,
                  tree: Tree | None = None) -> dict[int, VisibleCodes]:
    """Return, for the given units, the codes *viewer* may see (units with none visible are left out)."""
    if not unit_ids:
        return {}
    tree = tree or load_tree(session, project.id)
    revealed = _revealed(session, project, viewer, unit_ids)
    out: dict[int, VisibleCodes] = {}
    for uid, by in _reviews(session, project, unit_ids, tree).items():
        view = VisibleCodes(mine=by.get(viewer))
        if uid in revealed:
            view.others = {c: codes for c, codes in sorted(by.items()) if c != viewer}
        if view:
            out[uid] = view
    if revealed:  # a consensus is only visible on revealed units
        for uid, codes in _consensus(session, project, [u for u in unit_ids if u in revealed], tree).items():
            out.setdefault(uid, VisibleCodes()).consensus = codes
    return out


def scope_clause(project: Project, viewer: str, code_id: int | None = None,
                 coder: str | None = None) -> ColumnElement[bool]:
    """Return the SQL condition on Unit: units with *code_id* and/or coded by *coder*, as *viewer* may see them.

    *coder* is a coder's name or ``CONSENSUS``. Another coder's codes and the consensus count only on units
    revealed to the viewer.
    """
    if coder is None:
        return filter_clause(project, viewer, "code" if code_id is not None else "all", code_id=code_id)
    parts: list[ColumnElement[bool]] = [Unit.project_id == project.id]
    if coder == CONSENSUS:
        parts.append(revealed_clause(viewer))
        parts.append(exists().where(ConsensusCode.unit_id == Unit.id, ConsensusCode.code_id == code_id)
                     if code_id is not None else exists().where(Consensus.unit_id == Unit.id))
        return and_(*parts)
    if coder != viewer:
        parts.append(revealed_clause(viewer))
    if code_id is not None:
        parts.append(exists().where(Application.unit_id == Unit.id, Application.coder == coder,
                                    Application.code_id == code_id))
    else:
        parts.append(exists().where(Review.unit_id == Unit.id, Review.coder == coder))
    return and_(*parts)


def visible_coders(session: Session, project: Project, viewer: str) -> list[str]:
    """Return the coders whose codes *viewer* may see on some unit (themselves included when they coded)."""
    query = (select(Review.coder).join(Unit, Unit.id == Review.unit_id)
             .where(Unit.project_id == project.id, or_(Review.coder == viewer, revealed_clause(viewer)))
             .distinct().order_by(Review.coder))
    return list(session.scalars(query).all())


def evaluate_project(session: Session, project: Project, coder: str | None = None, folds: int = 5,
                     seed: int = 0, min_positives: int = 5, backend: str | None = None,
                     precision: float = 0.9) -> dict[str, Any]:
    """Evaluate suggestions on a project leave-one-coder-out (team-level; see ``coding.assist.evaluate``).

    *coder* holds out only that coder. A recorded consensus is compared with, not trained on (it was reached
    with the held-out coder's voice). Logged accept/reject decisions are summarised under ``acceptance``
    (overall, per code) and ``acceptance_by_coder``.
    """
    from coding.assist.evaluate import evaluate  # loads scikit-learn: only when a report is asked for

    data = codings(session, project)
    if not data:
        raise ProjectError(f"project '{project.name}' has no coded units yet")
    if coder is not None and not any(coder in by for by in data.values()):
        raise ProjectError(f"project '{project.name}': coder '{coder}' coded no unit")
    rows = session.execute(select(Unit.id, Unit.label, Unit.text).where(Unit.project_id == project.id))
    labels, units = {}, {}
    for uid, label, text in rows:
        labels[uid] = label
        units[label] = text
    consensus = {labels[u]: codes for u, codes in _consensus(session, project).items()}
    report = evaluate(units, data, consensus=consensus or None, coder=coder, folds=folds, seed=seed,
                      codebook=codebook_entries(session, project), min_positives=min_positives,
                      acceptance=decisions(session, project), backend=backend, precision=precision)
    report["consensus_units"] = len(consensus)
    report["acceptance_by_coder"] = {c: {"accepted": a, "rejected": r, "rate": a / (a + r)}
                                     for c, (a, r) in count_by_coder(session, project).items()}
    return report
