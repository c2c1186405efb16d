"""Codebook evolution: rename, merge, split, move, retire, each recorded in the audit log, and version diffs.

Every operation is applied to every existing application (and consensus) so none is lost, and returns the
counts that account for them: for a merge, applications before = applications after + duplicates collapsed
(a coder who had applied both A and B keeps one B); a split changes no application until each coder (and
the consensus) re-reviews the units of A, choosing among the new codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from coding.codebook.stored import FIELDS, check_name, current_version, delete_code, ensure_path, load_tree, record
from coding.store import (
    Application,
    AuditEntry,
    Code,
    ConsensusCode,
    Project,
    ProjectError,
    Rereview,
    Unit,
    utcnow,
)


def _ensure_sibling_free(tree: Any, parent_id: int | None, name: str, code_id: int) -> None:
    other = tree.sibling_named(parent_id, name)
    if other is not None and other != code_id:
        where = tree.path(parent_id) if parent_id is not None else "the top level"
        raise ProjectError(f"code {name!r} exists already under {where}")


def rename(session: Session, project: Project, path: str, new_name: str, who: str, why: str = "") -> Code:
    """Rename the code at *path* (its GUID and applications stay)."""
    tree = load_tree(session, project.id)
    code = tree.codes[tree.id_of(path)]
    new_name = check_name(new_name)
    if new_name == code.name:
        raise ProjectError(f"code {path!r} is already called {new_name!r}")
    _ensure_sibling_free(tree, code.parent_id, new_name, code.id)
    old_path = tree.path(code.id)
    code.name = new_name
    new_path = f"{old_path.rsplit('/', 1)[0]}/{new_name}" if "/" in old_path else new_name
    record(session, project, who, "rename", {"from": old_path, "to": new_path, "guid": code.guid}, why)
    return code


def move(session: Session, project: Project, path: str, new_parent: str | None, who: str, why: str = "") -> Code:
    """Move the code at *path* (with its children) under *new_parent* (None or '': to the top level)."""
    tree = load_tree(session, project.id)
    code_id = tree.id_of(path)
    code = tree.codes[code_id]
    parent_id = tree.id_of(new_parent) if new_parent else None
    if parent_id is not None and (parent_id == code_id or parent_id in tree.descendants(code_id)):
        raise ProjectError(f"cannot move {path!r} under {new_parent!r}: that is inside it")
    if parent_id == code.parent_id:
        raise ProjectError(f"code {path!r} is already there")
    _ensure_sibling_free(tree, parent_id, code.name, code_id)
    old_path = tree.path(code_id)
    code.parent_id = parent_id
    session.flush()
    new_path = f"{tree.path(parent_id)}/{code.name}" if parent_id is not None else code.name
    record(session, project, who, "move", {"from": old_path, "to": new_path, "guid": code.guid}, why)
    return code


def retire(session: Session, project: Project, path: str, who: str, why: str = "", retired: bool = True) -> Code:
    """Retire the code at *path* (kept on old codings, no longer offered), or restore it with retired=False."""
    tree = load_tree(session, project.id)
    code = tree.codes[tree.id_of(path)]
    if code.retired == retired:
        raise ProjectError(f"code {path!r} is {'already' if retired else 'not'} retired")
    code.retired = retired
    applied = len(session.scalars(select(Application.unit_id).where(Application.code_id == code.id)).all())
    record(session, project, who, "retire" if retired else "restore",
           {"path": path, "guid": code.guid, "applications_kept": applied}, why)
    return code


@dataclass
class MergeResult:
    """Counts that account for every application of the merged code."""

    moved: int = 0
    collapsed: int = 0
    consensus_moved: int = 0
    consensus_collapsed: int = 0
    children_moved: int = 0
    rereviews_repointed: int = 0


def merge(session: Session, project: Project, source: str, target: str, who: str, why: str = "") -> MergeResult:
    """Merge the code at *source* into *target*: its applications, consensus codes and children move to target.

    Where a coder applied both, the two become one application of target (the quote flag is kept if either
    had it). The source code is then deleted; the audit entry keeps its name, GUID and the counts.
    """
    tree = load_tree(session, project.id)
    a, b = tree.id_of(source), tree.id_of(target)
    if a == b:
        raise ProjectError(f"cannot merge {source!r} into itself")
    if b in tree.descendants(a):
        raise ProjectError(f"cannot merge {source!r} into {target!r}, which is inside it; move {target!r} out first")
    for child in tree.children.get(a, []):
        _ensure_sibling_free(tree, b, tree.codes[child].name, child)
    result = MergeResult()
    source_guid, source_path, target_path = tree.codes[a].guid, tree.path(a), tree.path(b)

    have_b = {(x.unit_id, x.coder): x for x in session.scalars(select(Application).where(Application.code_id == b))}
    for app in list(session.scalars(select(Application).where(Application.code_id == a))):
        twin = have_b.get((app.unit_id, app.coder))
        if twin is not None:
            twin.quote = twin.quote or app.quote
            if app.memo and app.memo not in twin.memo:
                twin.memo = f"{twin.memo}\n{app.memo}".strip()
            session.delete(app)
            result.collapsed += 1
        else:
            # The primary key includes the code, so re-point by replacing the row.
            session.delete(app)
            session.flush()
            session.add(Application(unit_id=app.unit_id, coder=app.coder, code_id=b, quote=app.quote,
                                    memo=app.memo))
            result.moved += 1
    cons_b = {x.unit_id: x for x in session.scalars(select(ConsensusCode).where(ConsensusCode.code_id == b))}
    for cc in list(session.scalars(select(ConsensusCode).where(ConsensusCode.code_id == a))):
        twin_cc = cons_b.get(cc.unit_id)
        session.delete(cc)
        session.flush()
        if twin_cc is not None:
            twin_cc.quote = twin_cc.quote or cc.quote
            result.consensus_collapsed += 1
        else:
            session.add(ConsensusCode(unit_id=cc.unit_id, code_id=b, quote=cc.quote))
            result.consensus_moved += 1
    for entry in session.scalars(select(Rereview).where(Rereview.project_id == project.id)):
        changed = False
        if entry.code_id == a:
            entry.code_id, changed = b, True
        if a in entry.targets:
            entry.targets, changed = list(dict.fromkeys(b if t == a else t for t in entry.targets)), True
        if entry.resolution and a in entry.resolution:
            entry.resolution, changed = list(dict.fromkeys(b if t == a else t for t in entry.resolution)), True
        result.rereviews_repointed += changed
    for child in tree.children.get(a, []):
        tree.codes[child].parent_id = b
        result.children_moved += 1
    session.flush()
    delete_code(session, a)
    record(session, project, who, "merge", {"from": source_path, "into": target_path, "guid": source_guid,
                                            **result.__dict__}, why)
    return result


@dataclass
class SplitResult:
    """The codes A was split into and the re-review entries queued (one per application, one per consensus)."""

    targets: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    queued: int = 0
    consensus_queued: int = 0


def split(session: Session, project: Project, source: str, into: Sequence[str], who: str,
          why: str = "") -> SplitResult:
    """Split the code at *source* into two or more codes, queueing each of its units for re-review.

    *into* holds names (new siblings of the source) or paths (existing codes, or new ones under an existing
    parent). The source code is retired, and its applications stay on it until each coder re-reviews the
    unit and picks among the new codes (:func:`resolve`), so none is lost in between.
    """
    tree = load_tree(session, project.id)
    a = tree.id_of(source)
    code = tree.codes[a]
    if tree.children.get(a):
        raise ProjectError(f"code {source!r} has subcodes; move or merge them before splitting it")
    if code.retired:
        raise ProjectError(f"code {source!r} is retired; restore it before splitting it")
    if len(set(into)) < 2:
        raise ProjectError(f"split {source!r} into two or more different codes")
    parent_prefix = tree.path(code.parent_id) + "/" if code.parent_id is not None else ""
    result = SplitResult()
    target_ids: list[int] = []
    for name in into:
        path = name if "/" in name else parent_prefix + check_name(name)
        target_id, created = ensure_path(session, project, tree, path)
        if target_id == a or a in tree.ancestors(target_id):
            raise ProjectError(f"cannot split {source!r} into itself or a code inside it")
        target_ids.append(target_id)
        result.targets.append(tree.path(target_id))
        result.created.extend(created)
    code.retired = True
    version = _next_version(session, project)
    for app in session.scalars(select(Application).where(Application.code_id == a)):
        session.add(Rereview(project_id=project.id, unit_id=app.unit_id, coder=app.coder, code_id=a,
                             targets=target_ids, version=version))
        result.queued += 1
    for cc in session.scalars(select(ConsensusCode).where(ConsensusCode.code_id == a)):
        session.add(Rereview(project_id=project.id, unit_id=cc.unit_id, coder=None, code_id=a,
                             targets=target_ids, version=version))
        result.consensus_queued += 1
    record(session, project, who, "split", {"from": tree.path(a), "guid": code.guid, **result.__dict__}, why)
    return result


def _next_version(session: Session, project: Project) -> int:
    return current_version(session, project.id) + 1


def open_rereview_clause(coder: str) -> ColumnElement[bool]:
    """SQL condition on Unit: *coder* has an unresolved re-review on it."""
    return exists().where(Rereview.unit_id == Unit.id, Rereview.coder == coder, Rereview.resolved.is_(False))


def rereviews(session: Session, project: Project, *, coder: str | None = None, consensus: bool = False,
              resolved: bool | None = False) -> list[Rereview]:
    """Return re-review entries: a coder's, the consensus' (consensus=True), or all; open ones by default."""
    query = select(Rereview).where(Rereview.project_id == project.id).order_by(Rereview.unit_id, Rereview.id)
    if coder is not None:
        query = query.where(Rereview.coder == coder)
    elif consensus:
        query = query.where(Rereview.coder.is_(None))
    if resolved is not None:
        query = query.where(Rereview.resolved.is_(resolved))
    return list(session.scalars(query).all())


def resolve(session: Session, project: Project, entry_id: int, chosen: Sequence[int], by: str) -> Rereview:
    """Resolve a re-review: replace the split code on that unit by *chosen* (a subset of the targets, may be
    empty). A coder's entry is resolved by that coder; a consensus entry by anyone of the team."""
    entry = session.get(Rereview, entry_id)
    if entry is None or entry.project_id != project.id:
        raise ProjectError(f"no re-review {entry_id} in project '{project.name}'")
    if entry.resolved:
        raise ProjectError(f"re-review {entry_id} is resolved already")
    if entry.coder is not None and entry.coder != by:
        raise ProjectError(f"re-review {entry_id} belongs to {entry.coder}")
    picked = list(dict.fromkeys(chosen))
    if not set(picked) <= set(entry.targets):
        raise ProjectError(f"re-review {entry_id}: choose among the codes the split made")
    if entry.coder is not None:
        old = session.get(Application, (entry.unit_id, entry.coder, entry.code_id))
        quote, memo = (old.quote, old.memo) if old is not None else (False, "")
        if old is not None:
            session.delete(old)
        for target in picked:
            if session.get(Application, (entry.unit_id, entry.coder, target)) is None:
                session.add(Application(unit_id=entry.unit_id, coder=entry.coder, code_id=target, quote=quote,
                                        memo=memo))
    else:
        old_cc = session.get(ConsensusCode, (entry.unit_id, entry.code_id))
        quote = old_cc.quote if old_cc is not None else False
        if old_cc is not None:
            session.delete(old_cc)
        for target in picked:
            if session.get(ConsensusCode, (entry.unit_id, target)) is None:
                session.add(ConsensusCode(unit_id=entry.unit_id, code_id=target, quote=quote))
    entry.resolved = True
    entry.resolution = picked
    entry.resolved_by = by
    entry.resolved_at = utcnow()
    session.flush()
    return entry


# Diffs between codebook versions

def snapshot_at(session: Session, project: Project, version: int) -> dict[str, Any]:
    """Return the codebook snapshot after audit entry *version* (0: empty)."""
    if version == 0:
        return {}
    entry = session.scalar(select(AuditEntry).filter_by(project_id=project.id, version=version))
    if entry is None:
        raise ProjectError(f"project '{project.name}' has no codebook version {version}")
    return dict(entry.snapshot)


def diff(session: Session, project: Project, old: int, new: int) -> dict[str, Any]:
    """Say what changed between two codebook versions: codes added, removed, renamed, moved, retired,
    restored and edited (by GUID), and the audit entries in between with who, when and why."""
    before, after = snapshot_at(session, project, old), snapshot_at(session, project, new)
    out: dict[str, Any] = {"from": old, "to": new, "added": [], "removed": [], "renamed": [], "moved": [],
                           "retired": [], "restored": [], "edited": []}
    for guid in after.keys() - before.keys():
        out["added"].append(after[guid]["path"])
    for guid in before.keys() - after.keys():
        out["removed"].append(before[guid]["path"])
    for guid in before.keys() & after.keys():
        x, y = before[guid], after[guid]
        if x["name"] != y["name"]:
            out["renamed"].append({"from": x["path"], "to": y["path"]})
        if x["parent"] != y["parent"]:
            out["moved"].append({"from": x["path"], "to": y["path"]})
        if x["retired"] != y["retired"]:
            out["retired" if y["retired"] else "restored"].append(y["path"])
        changed = [k for k in (*FIELDS, "color") if x.get(k) != y.get(k)]
        if changed:
            out["edited"].append({"path": y["path"], "fields": changed})
    for key in ("added", "removed", "retired", "restored"):
        out[key].sort()
    low, high = sorted((old, new))
    entries = session.scalars(select(AuditEntry).where(AuditEntry.project_id == project.id,
                                                       AuditEntry.version > low, AuditEntry.version <= high)
                              .order_by(AuditEntry.version)).all()
    out["entries"] = [{"version": e.version, "at": e.at.isoformat(sep=" "), "who": e.who, "action": e.action,
                       "detail": e.detail, "why": e.why} for e in entries]
    return out
