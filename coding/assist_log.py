"""The log of suggestion decisions: a reviewer accepted or rejected a code the assistant offered for a unit.

One row per (unit, coder, code): a later decision on the same suggestion replaces the earlier one, so the
acceptance rates count each suggestion once. Only the day is kept, never the time: the log says how useful
suggestions are, not when anybody worked.

Codes are kept by GUID and by the path they had when the decision was made, not by a foreign key: merging a
code deletes its row, and the log must neither block that nor lose the decision. Reports name a code by its
current path; a decision on a code merged since counts for the code it was merged into (as its applications
did), found through the audit log; failing that, it keeps the path it had.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from coding.assist.sources import CODEBOOK, MODEL
from coding.codebook.stored import Tree, load_tree
from coding.store import EMAIL_LENGTH, AuditEntry, CodingBase, Project, ProjectError, Unit

SOURCES = (MODEL, CODEBOOK)


class Decision(CodingBase):
    """A suggestion shown to a coder and what they did with it."""

    __tablename__ = "coding_assist_log"
    __table_args__ = (UniqueConstraint("unit_id", "coder", "code_guid", name="uq_coding_assist_log_decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("coding_units.id", ondelete="CASCADE"))
    coder: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    code_guid: Mapped[str] = mapped_column(String(38))
    code_path: Mapped[str] = mapped_column(String(1000))
    probability: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10))  # MODEL or CODEBOOK
    accepted: Mapped[bool] = mapped_column(Boolean)
    day: Mapped[dt.date] = mapped_column(Date)


def today() -> dt.date:
    """Return today's date in UTC (the finest time the log keeps)."""
    return dt.datetime.now(dt.UTC).date()


def record_decision(session: Session, project: Project, unit_id: int, coder: str, code_id: int,
                    probability: float, source: str, accepted: bool) -> Decision:
    """Record that *coder* accepted (or rejected) the suggestion of a code for a unit; replace an earlier one."""
    unit_project = session.scalar(select(Unit.project_id).where(Unit.id == unit_id))
    if unit_project != project.id:
        raise ProjectError(f"no unit {unit_id} in project '{project.name}'")
    tree = load_tree(session, project.id)
    if code_id not in tree.codes:
        raise ProjectError(f"code {code_id} is not in the codebook of project '{project.name}'")
    if source not in SOURCES:
        raise ProjectError(f"suggestion source {source!r}: expected one of {', '.join(SOURCES)}")
    if not 0.0 <= probability <= 1.0:
        raise ProjectError(f"suggestion score {probability!r}: expected a number between 0 and 1")
    if not coder:
        raise ProjectError("a decision records who made it")
    guid = tree.codes[code_id].guid
    decision = session.scalar(select(Decision).filter_by(unit_id=unit_id, coder=coder, code_guid=guid))
    if decision is None:
        decision = Decision(project_id=project.id, unit_id=unit_id, coder=coder, code_guid=guid)
        session.add(decision)
    decision.code_path = tree.path(code_id)
    decision.probability = float(probability)
    decision.source = source
    decision.accepted = accepted
    decision.day = today()
    session.flush()
    return decision


def decided_codes(session: Session, project: Project, unit_id: int, coder: str,
                  tree: Tree | None = None) -> dict[int, bool]:
    """Return the codes (by id) *coder* already decided on for a unit: code id -> accepted."""
    tree = tree or load_tree(session, project.id)
    by_guid = {code.guid: code_id for code_id, code in tree.codes.items()}
    rows = session.execute(select(Decision.code_guid, Decision.accepted)
                           .filter_by(project_id=project.id, unit_id=unit_id, coder=coder))
    return {by_guid[guid]: accepted for guid, accepted in rows if guid in by_guid}


def _current_paths(session: Session, project: Project, tree: Tree) -> dict[str, str]:
    """Map GUIDs to current paths, including codes merged away (to the path of the code they went into)."""
    paths = {code.guid: tree.path(code_id) for code_id, code in tree.codes.items()}
    merged: dict[str, str] = {}
    for detail, snapshot in session.execute(select(AuditEntry.detail, AuditEntry.snapshot)
                                            .filter_by(project_id=project.id, action="merge")):
        # The snapshot after a merge names the target by path; its GUID is stable from then on.
        into = [guid for guid, code in snapshot.items() if code.get("path") == detail.get("into")]
        if detail.get("guid") and into:
            merged[detail["guid"]] = into[0]
    for guid in merged:
        seen, target = {guid}, merged[guid]
        while target not in paths and target in merged and target not in seen:
            seen.add(target)
            target = merged[target]
        if target in paths:
            paths[guid] = paths[target]
    return paths


def decisions(session: Session, project: Project, coder: str | None = None) -> list[tuple[str, bool]]:
    """Return (code path, accepted) for every logged decision, optionally one coder's (input of acceptance_rates)."""
    current = _current_paths(session, project, load_tree(session, project.id))
    query = select(Decision.code_guid, Decision.code_path, Decision.accepted).filter_by(project_id=project.id)
    if coder is not None:
        query = query.filter_by(coder=coder)
    rows = session.execute(query.order_by(Decision.id))
    return [(current.get(guid, path), accepted) for guid, path, accepted in rows]


def unit_decisions(session: Session, project: Project, coder: str) -> list[tuple[int, str, bool]]:
    """Return (unit id, current code path, accepted) for one coder's logged decisions (fed back to routing)."""
    current = _current_paths(session, project, load_tree(session, project.id))
    rows = session.execute(select(Decision.unit_id, Decision.code_guid, Decision.code_path, Decision.accepted)
                           .filter_by(project_id=project.id, coder=coder).order_by(Decision.id))
    return [(unit_id, current.get(guid, path), accepted) for unit_id, guid, path, accepted in rows]


def count_by_coder(session: Session, project: Project) -> dict[str, tuple[int, int]]:
    """Return, per coder, (accepted, rejected) decisions."""
    out: dict[str, list[int]] = {}
    for coder, accepted in session.execute(select(Decision.coder, Decision.accepted).filter_by(project_id=project.id)):
        out.setdefault(coder, [0, 0])[0 if accepted else 1] += 1
    return {coder: (a, r) for coder, (a, r) in sorted(out.items())}

