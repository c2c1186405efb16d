"""A project's codebook in the database: the code tree, adding and editing codes, the audit log, YAML/.qdc.

Every change to the codebook goes through :func:`record`, which appends an audit entry (who, when, what,
why) holding a snapshot of the codebook after the change; the entry's ``version`` numbers codebook versions
(0 is the empty codebook before the first entry).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from coding.codebook import model as cb
from coding.store import AuditEntry, Code, Project, ProjectError

FIELDS = ("definition", "use_when", "not_when", "example")


@dataclass
class Tree:
    """The codes of one project with their paths, loaded in one query (codebooks are small)."""

    codes: dict[int, Code]
    children: dict[int | None, list[int]]
    paths: dict[int, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for code_id, path, _ in self._walk_ids():
            self.paths[code_id] = path
            self.ids[path] = code_id

    def _walk_ids(self) -> Iterator[tuple[int, str, int]]:
        stack: list[tuple[int, str, int]] = [(c, self.codes[c].name, 0) for c in reversed(self.children.get(None, []))]
        while stack:
            code_id, path, depth = stack.pop()
            yield code_id, path, depth
            stack.extend((c, f"{path}/{self.codes[c].name}", depth + 1)
                         for c in reversed(self.children.get(code_id, [])))

    def walk(self) -> Iterator[tuple[str, Code, int]]:
        """Yield (path, code, depth) for every code, parents before children, in codebook order."""
        for code_id, path, depth in self._walk_ids():
            yield path, self.codes[code_id], depth

    def path(self, code_id: int) -> str:
        """Return the path of a code, e.g. 'Effectiveness/Perspective taking'."""
        return self.paths[code_id]

    def id_of(self, path: str) -> int:
        """Return the id of the code at *path*; raise ProjectError naming the path if there is none."""
        normal = "/".join(level.strip() for level in path.split("/"))
        if normal not in self.ids:
            raise ProjectError(f"no code {path!r} in the codebook")
        return self.ids[normal]

    def descendants(self, code_id: int) -> set[int]:
        """Return the ids of every code below *code_id*."""
        found: set[int] = set()
        stack = list(self.children.get(code_id, []))
        while stack:
            c = stack.pop()
            found.add(c)
            stack.extend(self.children.get(c, []))
        return found

    def ancestors(self, code_id: int) -> list[int]:
        """Return the ids above *code_id*, nearest first."""
        out = []
        parent = self.codes[code_id].parent_id
        while parent is not None:
            out.append(parent)
            parent = self.codes[parent].parent_id
        return out

    def depth(self, code_id: int) -> int:
        """Return 0 for a top-level code, 1 for its children, and so on."""
        return len(self.ancestors(code_id))

    def sibling_named(self, parent_id: int | None, name: str) -> int | None:
        """Return the id of the child of *parent_id* called *name*, if any."""
        for c in self.children.get(parent_id, []):
            if self.codes[c].name == name:
                return c
        return None


def load_tree(session: Session, project_id: int) -> Tree:
    """Load a project's codebook."""
    rows = session.scalars(select(Code).where(Code.project_id == project_id)
                           .order_by(Code.position, Code.name, Code.id)).all()
    children: dict[int | None, list[int]] = {}
    for code in rows:
        children.setdefault(code.parent_id, []).append(code.id)
    return Tree({c.id: c for c in rows}, children)


def check_name(name: str) -> str:
    """Return a cleaned code name; raise ProjectError when it is empty or holds '/'."""
    name = name.strip()
    if not name:
        raise ProjectError("a code needs a name")
    if "/" in name:
        raise ProjectError(f"code name {name!r}: '/' separates levels and cannot be in a name")
    if len(name) > 200:
        raise ProjectError(f"code name {name[:40]!r}...: longer than 200 characters")
    return name


def check_color(color: str | None) -> str | None:
    """Return a #RRGGBB colour (None for none); raise ProjectError otherwise."""
    if color is None or color == "":
        return None
    if not cb.COLOR_RE.fullmatch(color):
        raise ProjectError(f"colour {color!r} is not #RRGGBB")
    return color


def _next_position(session: Session, project_id: int, parent_id: int | None) -> int:
    highest = session.scalar(select(func.max(Code.position)).where(Code.project_id == project_id,
                                                                   Code.parent_id.is_(None) if parent_id is None
                                                                   else Code.parent_id == parent_id))
    return (highest or 0) + 1


def new_code(session: Session, project: Project, tree: Tree, parent_id: int | None, name: str, *,
             guid: str | None = None, color: str | None = None, retired: bool = False, check: bool = True,
             texts: dict[str, str] | None = None) -> Code:
    """Add a code under *parent_id* (None: top level) without auditing; the caller records the change."""
    name = check_name(name)
    if check and tree.sibling_named(parent_id, name) is not None:
        where = tree.path(parent_id) if parent_id is not None else "the top level"
        raise ProjectError(f"code {name!r} exists already under {where}")
    code = Code(project_id=project.id, parent_id=parent_id, guid=guid or cb.new_guid(), name=name,
                color=check_color(color), retired=retired, position=_next_position(session, project.id, parent_id),
                **{k: (texts or {}).get(k, "") or "" for k in FIELDS})
    session.add(code)
    session.flush()
    tree.codes[code.id] = code
    tree.children.setdefault(parent_id, []).append(code.id)
    path = f"{tree.path(parent_id)}/{name}" if parent_id is not None else name
    tree.paths[code.id] = path
    tree.ids[path] = code.id
    return code


def ensure_path(session: Session, project: Project, tree: Tree, path: str) -> tuple[int, list[str]]:
    """Return the id of the code at *path*, creating missing levels; also the paths created."""
    created: list[str] = []
    parent: int | None = None
    sofar = ""
    for level in path.split("/"):
        name = check_name(level)
        sofar = f"{sofar}/{name}" if sofar else name
        found = tree.sibling_named(parent, name)
        if found is None:
            found = new_code(session, project, tree, parent, name).id
            created.append(sofar)
        parent = found
    assert parent is not None
    return parent, created


def snapshot(tree: Tree) -> dict[str, Any]:
    """Return the codebook as {guid: fields}, the form kept in audit entries and compared by diff."""
    out: dict[str, Any] = {}
    for path, code, _ in tree.walk():
        parent = tree.codes[code.parent_id].guid if code.parent_id is not None else None
        out[code.guid] = {"path": path, "name": code.name, "parent": parent, "color": code.color,
                          "retired": code.retired, **{k: getattr(code, k) for k in FIELDS}}
    return out


def current_version(session: Session, project_id: int) -> int:
    """Return the codebook version (number of audit entries); 0 before any change."""
    return session.scalar(select(func.max(AuditEntry.version)).where(AuditEntry.project_id == project_id)) or 0


def record(session: Session, project: Project, who: str, action: str, detail: dict[str, Any],
           why: str = "") -> AuditEntry:
    """Append an audit entry for a codebook change just made (flushes, so the snapshot sees it)."""
    session.flush()
    entry = AuditEntry(project_id=project.id, version=current_version(session, project.id) + 1, who=who,
                       action=action, detail=detail, why=why.strip(),
                       snapshot=snapshot(load_tree(session, project.id)))
    session.add(entry)
    session.flush()
    return entry


def audit_log(session: Session, project: Project) -> list[AuditEntry]:
    """Return the project's audit entries, oldest first."""
    return list(session.scalars(select(AuditEntry).where(AuditEntry.project_id == project.id)
                                .order_by(AuditEntry.version)).all())


def describe(action: str, detail: dict[str, Any]) -> str:
    """Return an audit entry's detail as one readable line."""
    if action in ("rename", "move"):
        return f"{detail['from']} -> {detail['to']}"
    if action == "merge":
        return (f"{detail['from']} merged into {detail['into']}: {detail['moved']} applications moved, "
                f"{detail['collapsed']} collapsed (coder had both), {detail['consensus_moved']} consensus moved")
    if action == "split":
        return (f"{detail['from']} split into {', '.join(detail['targets'])}: {detail['queued']} applications and "
                f"{detail['consensus_queued']} consensus queued for re-review")
    if action in ("add", "retire", "restore", "edit"):
        return detail.get("path", "") + (f" ({', '.join(detail['changed'])})" if "changed" in detail else "")
    return json.dumps(detail, ensure_ascii=False, sort_keys=True)


def add_code(session: Session, project: Project, parent: str | None, name: str, who: str, why: str = "", *,
             color: str | None = None, **texts: str) -> Code:
    """Add a code under the code at path *parent* (None or '': top level) and record it."""
    tree = load_tree(session, project.id)
    parent_id = tree.id_of(parent) if parent else None
    code = new_code(session, project, tree, parent_id, name, color=color, texts=texts)
    record(session, project, who, "add", {"path": tree.path(code.id)}, why)
    return code


def edit_code(session: Session, project: Project, path: str, who: str, why: str = "", *,
              color: str | None = None, **texts: str) -> Code:
    """Change a code's definition, use when / not when, example or colour, and record what changed."""
    tree = load_tree(session, project.id)
    code = tree.codes[tree.id_of(path)]
    changed: dict[str, list[Any]] = {}
    for key in FIELDS:
        if key in texts and texts[key] is not None and texts[key].strip() != getattr(code, key):
            changed[key] = [getattr(code, key), texts[key].strip()]
            setattr(code, key, texts[key].strip())
    new_color = check_color(color)
    if new_color != code.color:
        changed["color"] = [code.color, new_color]
        code.color = new_color
    if changed:
        record(session, project, who, "edit", {"path": path, "changed": changed}, why)
    return code


def to_codebook(session: Session, project: Project) -> cb.Codebook:
    """Return the project's codebook as a :class:`coding.codebook.Codebook` (for YAML or .qdc)."""
    tree = load_tree(session, project.id)

    def build(code_id: int) -> cb.Code:
        code = tree.codes[code_id]
        return cb.Code(name=code.name, guid=code.guid, color=code.color, retired=code.retired,
                       children=[build(c) for c in tree.children.get(code_id, [])],
                       **{k: getattr(code, k) for k in FIELDS})

    return cb.Codebook(name=project.name, codes=[build(c) for c in tree.children.get(None, [])])


def _key(guid: str) -> str:
    return guid.lower().strip("{}")


def import_codebook(session: Session, project: Project, book: cb.Codebook, who: str, why: str = "",
                    source: str = "") -> dict[str, int]:
    """Merge *book* into the project's codebook: codes match by GUID, else by path; nothing is deleted.

    Matched codes take the file's name, parent, texts, colour and retired flag; new codes are added. Returns
    counts {'added', 'updated', 'unchanged'}. Raises ProjectError (and changes nothing the caller commits)
    when the result would put two codes with one name under the same parent.
    """
    tree = load_tree(session, project.id)
    by_guid = {_key(c.guid): c.id for c in tree.codes.values()}
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    seen: set[int] = set()

    def merge(code: cb.Code, parent_id: int | None, path: str) -> None:
        found = by_guid.get(_key(code.guid))
        if found is None and path in tree.ids:
            found = tree.ids[path]
        if found is not None and found in seen:
            where = path.rsplit("/", 1)[0] if "/" in path else "the top level"
            raise ProjectError(f"{source or 'codebook'}: two codes named {code.name!r} under {where}")
        texts = {k: getattr(code, k) for k in FIELDS}
        if found is None:
            # Siblings are checked once at the end: codes renamed earlier in this import may free a name.
            row = new_code(session, project, tree, parent_id, code.name, guid=code.guid, color=code.color,
                           retired=code.retired, check=False, texts=texts)
            counts["added"] += 1
        else:
            row = tree.codes[found]
            wanted = {"name": code.name, "parent_id": parent_id, "color": check_color(code.color),
                      "retired": code.retired, **texts}
            if parent_id is not None and (parent_id == found or parent_id in tree.descendants(found)):
                raise ProjectError(f"{source or 'codebook'}: code {path!r} would be inside itself")
            if any(getattr(row, k) != v for k, v in wanted.items()):
                for k, v in wanted.items():
                    setattr(row, k, v)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        seen.add(row.id)
        for child in code.children:
            merge(child, row.id, f"{path}/{child.name}")

    for top in book.codes:
        merge(top, None, top.name)
    session.flush()
    _check_siblings(session, project, source)
    if counts["added"] or counts["updated"]:
        record(session, project, who, "import", {"source": source, **counts}, why)
    return counts


def _check_siblings(session: Session, project: Project, source: str) -> None:
    tree = load_tree(session, project.id)
    for parent_id, kids in tree.children.items():
        names = [tree.codes[c].name for c in kids]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            where = tree.path(parent_id) if parent_id is not None else "the top level"
            raise ProjectError(f"{source or 'codebook'}: two codes named {dupes[0]!r} under {where}")


def delete_code(session: Session, code_id: int) -> None:
    """Delete a code row that no longer has applications or children (merge uses this)."""
    session.execute(delete(Code).where(Code.id == code_id))


def active_codes(tree: Tree) -> Iterable[tuple[str, Code, int]]:
    """Yield the codes offered for coding (not retired, nor under a retired code)."""
    retired: set[int] = set()
    for path, code, depth in tree.walk():
        if code.retired or (code.parent_id is not None and code.parent_id in retired):
            retired.add(code.id)
            continue
        yield path, code, depth
