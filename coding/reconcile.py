"""Reconciliation: the discrepancy queue, the meeting view, consensus decisions and each unit's final codes.

A unit is disputed when two or more coders reviewed it and their code sets differ, i.e. some code was
applied by some of its coders but not all. Final codes are the consensus where one was recorded, else the
codes a rule keeps: all coders agree (the intersection; with one coder, theirs), a majority, or any coder.
Theme exports choose the rule and print it, with how many units still await a consensus.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.applying import check_codes
from coding.blindness import CoderView, revealed_clause, unit_reviews
from coding.codebook.stored import load_tree
from coding.store import Application, Consensus, ConsensusCode, Project, ProjectError, Review, Unit, utcnow


def _review_counts():  # type: ignore[no-untyped-def]
    return (select(Review.unit_id, func.count().label("n")).group_by(Review.unit_id)
            .having(func.count() >= 2).subquery())


def _code_counts():  # type: ignore[no-untyped-def]
    return (select(Application.unit_id, Application.code_id, func.count().label("c"))
            .group_by(Application.unit_id, Application.code_id).subquery())


def disputed_clause() -> ColumnElement[bool]:
    """SQL condition on Unit: two or more coders reviewed it and some code was applied by some but not all."""
    n = select(func.count()).select_from(Review).where(Review.unit_id == Unit.id).scalar_subquery()
    c = (select(func.count()).select_from(Application)
         .where(Application.unit_id == Unit.id).group_by(Application.code_id).having(func.count() < n))
    return and_(n >= 2, exists(c))


@dataclass
class Dispute:
    """A unit in the discrepancy queue and the codes its coders disagree on."""

    unit_id: int
    label: str
    position: int
    codes: list[int]
    score: int
    decided: bool


def disputes(session: Session, project: Project, *, viewer: str | None = None,
             include_decided: bool = False) -> list[Dispute]:
    """Return the discrepancy queue, the most disputed codes first.

    A code's weight is the number of units it is disputed on; a unit ranks by its heaviest disputed code,
    then by how many codes are disputed on it. With *viewer*, only units revealed to them are listed.
    """
    reviews, counts = _review_counts(), _code_counts()
    query = (select(Unit.id, Unit.label, Unit.position, counts.c.code_id)
             .join(reviews, reviews.c.unit_id == Unit.id).join(counts, counts.c.unit_id == Unit.id)
             .where(Unit.project_id == project.id, counts.c.c < reviews.c.n))
    if viewer is not None:
        query = query.where(revealed_clause(viewer))
    per_unit: dict[int, tuple[str, int, list[int]]] = {}
    weight: dict[int, int] = {}
    for unit_id, label, position, code_id in session.execute(query):
        per_unit.setdefault(unit_id, (label, position, []))[2].append(code_id)
        weight[code_id] = weight.get(code_id, 0) + 1
    decided = set(session.scalars(select(Consensus.unit_id).where(Consensus.unit_id.in_(list(per_unit)))).all()) \
        if per_unit else set()
    out = []
    for unit_id, (label, position, codes) in per_unit.items():
        if unit_id in decided and not include_decided:
            continue
        codes.sort(key=lambda c: (-weight[c], c))
        out.append(Dispute(unit_id, label, position, codes, weight[codes[0]], unit_id in decided))
    out.sort(key=lambda d: (-d.score, -len(d.codes), d.position))
    return out


def code_dispute_counts(session: Session, project: Project) -> dict[int, int]:
    """Return, per code id, the number of units it is disputed on."""
    reviews, counts = _review_counts(), _code_counts()
    rows = session.execute(select(counts.c.code_id, func.count()).join(reviews, reviews.c.unit_id == counts.c.unit_id)
                           .join(Unit, Unit.id == counts.c.unit_id)
                           .where(Unit.project_id == project.id, counts.c.c < reviews.c.n)
                           .group_by(counts.c.code_id))
    return {code_id: n for code_id, n in rows}


@dataclass
class Meeting:
    """Everything the team looks at for one unit: each coder's codes and memo, side by side, and any consensus."""

    unit: Unit
    reviews: dict[str, CoderView]
    consensus: Consensus | None
    consensus_codes: dict[int, bool] = field(default_factory=dict)

    @property
    def all_codes(self) -> list[int]:
        """Return every code some coder (or the consensus) applied."""
        seen: dict[int, None] = {}
        for view in self.reviews.values():
            seen.update(dict.fromkeys(view.codes))
        seen.update(dict.fromkeys(self.consensus_codes))
        return list(seen)


def meeting(session: Session, project: Project, unit_id: int, viewer: str | None = None) -> Meeting:
    """Return the meeting view of a unit; with *viewer*, refused until the unit is revealed to them."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.project_id != project.id:
        raise ProjectError(f"no unit {unit_id} in project '{project.name}'")
    if viewer is not None:
        revealed = session.scalar(select(revealed_clause(viewer)).select_from(Unit).where(Unit.id == unit_id))
        if not revealed:
            raise ProjectError(f"unit {unit.label!r}: finish your round before you see the other coders' codes")
    consensus = session.get(Consensus, unit_id)
    codes = {cc.code_id: cc.quote for cc in session.scalars(select(ConsensusCode).filter_by(unit_id=unit_id))}
    return Meeting(unit, unit_reviews(session, [unit_id]).get(unit_id, {}), consensus, codes)


def record_consensus(session: Session, project: Project, unit_id: int, code_ids: Collection[int], note: str,
                     decided_by: str, quotes: Collection[int] = ()) -> Consensus:
    """Record (or replace) the team's decision on a unit: its final codes, a note and who decided."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.project_id != project.id:
        raise ProjectError(f"no unit {unit_id} in project '{project.name}'")
    if not decided_by:
        raise ProjectError("a consensus records who decided")
    tree = load_tree(session, project.id)
    wanted = set(code_ids)
    current = {c for c in session.scalars(select(ConsensusCode.code_id).filter_by(unit_id=unit_id))}
    check_codes(tree, wanted, unit.label, allow_retired=current)
    if not set(quotes) <= wanted:
        raise ProjectError(f"unit {unit.label!r}: a representative quote must be for a code of the consensus")
    consensus = session.get(Consensus, unit_id)
    if consensus is None:
        consensus = Consensus(unit_id=unit_id, decided_by=decided_by)
        session.add(consensus)
    consensus.note = note.strip()
    consensus.decided_by = decided_by
    consensus.decided_at = utcnow()
    session.flush()
    for cc in list(session.scalars(select(ConsensusCode).filter_by(unit_id=unit_id))):
        if cc.code_id not in wanted:
            session.delete(cc)
    session.flush()
    for code_id in wanted:
        cc = session.get(ConsensusCode, (unit_id, code_id)) or ConsensusCode(unit_id=unit_id, code_id=code_id)
        cc.quote = code_id in set(quotes)
        session.add(cc)
    session.flush()
    return consensus


# What a unit without a recorded consensus counts as, per theme export (`surveykit coding export
# --without-consensus`). The default, majority, equals "all" with two coders (no tie-break exists) and lets
# most of a larger team carry a code, so an 8-coder project does not lose every code one coder missed.
CONSENSUS_RULES: dict[str, str] = {
    "all": "the codes every coder of the unit applied",
    "majority": "the codes more than half of the unit's coders applied (with two coders: both)",
    "any": "the codes any coder of the unit applied",
}
DEFAULT_RULE = "majority"


@dataclass
class FinalCodes:
    """Each coded unit's final codes and where they came from."""

    codes: dict[int, frozenset[int]]
    via: dict[int, str]  # 'consensus', 'agreed' (coders gave identical sets) or 'fallback' (they differed)
    uncoded: int
    rule: str = "all"  # what a unit without consensus counts (CONSENSUS_RULES)
    disputed: dict[int, frozenset[int]] = field(default_factory=dict)  # unit without consensus -> codes not all gave

    @property
    def n_consensus(self) -> int:
        """Return the number of units whose final codes are a recorded consensus."""
        return sum(1 for v in self.via.values() if v == "consensus")

    @property
    def n_fallback(self) -> int:
        """Return the number of units without consensus (final codes chosen by the rule)."""
        return sum(1 for v in self.via.values() if v != "consensus")

    @property
    def n_unresolved(self) -> int:
        """Return the number of units without consensus whose coders disagreed (awaiting consensus)."""
        return sum(1 for v in self.via.values() if v == "fallback")

    def only(self, unit_ids: Iterable[int]) -> FinalCodes:
        """Return these final codes for *unit_ids* alone (the units revealed to a viewer); the rest count as uncoded."""
        keep = set(unit_ids)
        codes = {u: c for u, c in self.codes.items() if u in keep}
        return FinalCodes(codes, {u: v for u, v in self.via.items() if u in keep},
                          self.uncoded + len(self.codes) - len(codes), self.rule,
                          {u: d for u, d in self.disputed.items() if u in keep})


def final_codes(session: Session, project: Project, rule: str = "all") -> FinalCodes:
    """Return the final codes of every coded unit: the consensus, else the codes *rule* keeps (CONSENSUS_RULES)."""
    if rule not in CONSENSUS_RULES:
        raise ProjectError(f"no rule {rule!r} for units without consensus; choose {', '.join(CONSENSUS_RULES)}")
    consensus_units = set(session.scalars(select(Consensus.unit_id).join(Unit, Unit.id == Consensus.unit_id)
                                          .where(Unit.project_id == project.id)).all())
    codes: dict[int, set[int]] = {u: set() for u in consensus_units}
    for unit_id, code_id in session.execute(select(ConsensusCode.unit_id, ConsensusCode.code_id)
                                            .join(Unit, Unit.id == ConsensusCode.unit_id)
                                            .where(Unit.project_id == project.id)):
        codes[unit_id].add(code_id)
    per_coder: dict[int, dict[str, set[int]]] = {}
    for unit_id, coder in session.execute(select(Review.unit_id, Review.coder).join(Unit, Unit.id == Review.unit_id)
                                          .where(Unit.project_id == project.id)):
        per_coder.setdefault(unit_id, {})[coder] = set()
    for unit_id, coder, code_id in session.execute(
            select(Application.unit_id, Application.coder, Application.code_id)
            .join(Unit, Unit.id == Application.unit_id).where(Unit.project_id == project.id)):
        per_coder[unit_id][coder].add(code_id)
    via = {u: "consensus" for u in consensus_units}
    disputed: dict[int, frozenset[int]] = {}
    for unit_id, sets in per_coder.items():
        if unit_id in consensus_units:
            continue
        values = list(sets.values())
        agreed = set.intersection(*values)
        given = Counter(c for v in values for c in v)
        if rule == "any":
            codes[unit_id] = set(given)
        elif rule == "majority":
            codes[unit_id] = {c for c, n in given.items() if 2 * n > len(values)}
        else:
            codes[unit_id] = agreed
        if len(given) > len(agreed):
            disputed[unit_id] = frozenset(set(given) - agreed)
        via[unit_id] = "fallback" if unit_id in disputed else "agreed"
    total = session.scalar(select(func.count()).select_from(Unit).where(Unit.project_id == project.id)) or 0
    return FinalCodes({u: frozenset(c) for u, c in codes.items()}, via, total - len(codes), rule, disputed)
