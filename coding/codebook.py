"""The codebook: hierarchical codes (domain -> theme -> subtheme, any depth) with stable GUIDs.

YAML format (read with a SafeLoader subclass that only adds line numbers)::

    name: Empathy training study        # optional; defaults to the file name
    codes:
      - name: Effectiveness             # required; unique among siblings; no "/"
        guid: 9f0c...                   # optional; kept as given (with or without braces)
        definition: What the code means
        use_when: When to apply it
        not_when: When not to apply it
        example: A typical answer
        color: "#1F77B4"                # #RRGGBB; quote it, an unquoted # starts a YAML comment
        retired: false                  # retired codes stay for old codings but are not offered
        children:
          - name: Perspective taking    # addressed as "Effectiveness/Perspective taking"

Codes without a guid get a deterministic one, uuid5 of their path, so importing the same YAML twice gives the
same GUIDs; codes created in code get uuid4. Exports always write the guid, so it survives every round trip.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from coding.errors import InvalidCodebook

# Fixed namespace for path-derived GUIDs; changing it would change every derived GUID.
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://surveykit/codebook")
TEXT_FIELDS = ("definition", "use_when", "not_when", "example")
CODE_KEYS = frozenset({"name", "guid", *TEXT_FIELDS, "color", "retired", "children"})
TOP_KEYS = frozenset({"name", "codes"})
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
GUID_RE = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
                     r"|(\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\})")


def new_guid() -> str:
    """Return a fresh random GUID."""
    return str(uuid.uuid4())


def path_guid(path: str) -> str:
    """Return the deterministic GUID of a code path, for imports that carry none."""
    return str(uuid.uuid5(GUID_NAMESPACE, path))


@dataclass(kw_only=True)
class Code:
    """One code; ``children`` make the hierarchy."""

    name: str
    guid: str = field(default_factory=new_guid)
    definition: str = ""
    use_when: str = ""
    not_when: str = ""
    example: str = ""
    color: str | None = None
    retired: bool = False
    children: list[Code] = field(default_factory=list)


@dataclass(kw_only=True)
class Codebook:
    """A named tree of codes."""

    name: str
    codes: list[Code] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[str, Code]]:
        """Yield (path, code) for every code, parents before children."""
        stack = [(c.name, c) for c in reversed(self.codes)]
        while stack:
            path, code = stack.pop()
            yield path, code
            stack.extend((f"{path}/{child.name}", child) for child in reversed(code.children))

    def find(self, path: str) -> Code:
        """Return the code at a path such as "Domain/Theme"; raise KeyError if there is none."""
        for candidate, code in self.walk():
            if candidate == path:
                return code
        raise KeyError(path)

    def parent_guid(self, guid: str) -> str | None:
        """Return the GUID of a code's parent, None for a top-level code; raise KeyError if unknown."""
        for _, code in self.walk():
            if any(child.guid == guid for child in code.children):
                return code.guid
        if any(code.guid == guid for code in self.codes):
            return None
        raise KeyError(guid)


# YAML reading with line numbers

_LINES = object()  # key under which each mapping keeps {key: line}; not a string, so it never clashes


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping key and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in lines:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            lines[key] = key_node.start_mark.line + 1
        mapping = super().construct_mapping(node, deep=deep)
        mapping[_LINES] = lines
        mapping[_LINES, "self"] = node.start_mark.line + 1
        return mapping


def codebook_from_yaml(text: str, source: str | PathLike[str] = "<yaml>") -> Codebook:
    """Parse a YAML codebook; raise InvalidCodebook with file, line and code path on bad input."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise InvalidCodebook(source, mark.line + 1 if mark else None, str(e.problem or e.context)) from e
    except yaml.YAMLError as e:
        raise InvalidCodebook(source, None, str(e)) from e
    if not isinstance(data, dict):
        raise InvalidCodebook(source, 1, "expected a mapping with 'name' and 'codes'")
    _check_keys(source, data, TOP_KEYS, None)
    name = data.get("name") or Path(str(source)).stem
    if not isinstance(name, str):
        raise InvalidCodebook(source, _line(data, "name"), "codebook name must be text")
    codes = _codes(source, data.get("codes"), data, "codes", parent_path="")
    book = Codebook(name=name, codes=codes)
    seen: dict[str, str] = {}
    for path, code in book.walk():
        key = code.guid.lower().strip("{}")
        if key in seen:
            raise InvalidCodebook(source, None, f"guid {code.guid} already used by {seen[key]!r}",
                                  where=f"code {path!r}")
        seen[key] = path
    return book


def _line(mapping: dict[Any, Any], key: str | None = None) -> int | None:
    if key is not None and key in mapping.get(_LINES, {}):
        return int(mapping[_LINES][key])
    return mapping.get((_LINES, "self"))


def _check_keys(source: Any, mapping: dict[Any, Any], allowed: frozenset[str], path: str | None) -> None:
    for key in mapping:
        if key is _LINES or (isinstance(key, tuple) and key and key[0] is _LINES):
            continue
        if key not in allowed:
            where = f"code {path!r}" if path else None
            known = ", ".join(sorted(allowed))
            what = f"unknown key {key!r} (known: {known})"
            raise InvalidCodebook(source, _line(mapping, key), what, where=where)


def _codes(source: Any, value: Any, owner: dict[Any, Any], key: str, parent_path: str) -> list[Code]:
    where = f"code {parent_path!r}" if parent_path else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidCodebook(source, _line(owner, key), f"'{key}' must be a list of codes", where=where)
    codes: list[Code] = []
    names: dict[str, int | None] = {}
    for position, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise InvalidCodebook(source, _line(owner, key), f"item {position} of '{key}' is not a mapping",
                                  where=where)
        code = _code(source, item, parent_path, position)
        if code.name in names:
            raise InvalidCodebook(source, _line(item, "name"),
                                  f"duplicate name among siblings (first on line {names[code.name]})",
                                  where=f"code {_join(parent_path, code.name)!r}")
        names[code.name] = _line(item, "name")
        codes.append(code)
    return codes


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _code(source: Any, item: dict[Any, Any], parent_path: str, position: int) -> Code:
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        label = _join(parent_path, f"#{position}")
        raise InvalidCodebook(source, _line(item), "missing or empty 'name'", where=f"code {label!r}")
    name = name.strip()
    path = _join(parent_path, name)
    where = f"code {path!r}"
    _check_keys(source, item, CODE_KEYS, path)
    if "/" in name:
        raise InvalidCodebook(source, _line(item, "name"), "'/' separates levels and cannot be in a name",
                              where=where)
    texts: dict[str, str] = {}
    for key in TEXT_FIELDS:
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidCodebook(source, _line(item, key), f"'{key}' must be text", where=where)
        texts[key] = (value or "").strip()
    color = item.get("color")
    if "color" in item and color is None:
        what = "empty colour; quote it, e.g. \"#1F77B4\" (an unquoted # starts a YAML comment)"
        raise InvalidCodebook(source, _line(item, "color"), what, where=where)
    if color is not None and (not isinstance(color, str) or not COLOR_RE.fullmatch(color)):
        raise InvalidCodebook(source, _line(item, "color"), f"colour {color!r} is not #RRGGBB", where=where)
    guid = item.get("guid")
    if guid is not None and (not isinstance(guid, str) or not GUID_RE.fullmatch(guid)):
        raise InvalidCodebook(source, _line(item, "guid"), f"guid {guid!r} is not a GUID", where=where)
    retired = item.get("retired", False)
    if not isinstance(retired, bool):
        raise InvalidCodebook(source, _line(item, "retired"), "'retired' must be true or false", where=where)
    return Code(
        name=name,
        guid=guid or path_guid(path),
        color=color,
        retired=retired,
        children=_codes(source, item.get("children"), item, "children", parent_path=path),
        **texts,
    )


def codebook_to_yaml(book: Codebook) -> str:
    """Render a codebook as YAML in the documented format, guids included."""

    def dump(code: Code) -> dict[str, Any]:
        out: dict[str, Any] = {"name": code.name, "guid": code.guid}
        for key in TEXT_FIELDS:
            if getattr(code, key):
                out[key] = getattr(code, key)
        if code.color:
            out["color"] = code.color
        if code.retired:
            out["retired"] = True
        if code.children:
            out["children"] = [dump(child) for child in code.children]
        return out

    data = {"name": book.name, "codes": [dump(code) for code in book.codes]}
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


class _BlockDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line texts as literal blocks, the way people type them."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _represent_str)


def read_yaml(path: str | PathLike[str]) -> Codebook:
    """Read a YAML codebook file."""
    return codebook_from_yaml(Path(path).read_text(encoding="utf-8-sig"), source=path)


def write_yaml(book: Codebook, path: str | PathLike[str]) -> None:
    """Write a codebook as YAML."""
    Path(path).write_text(codebook_to_yaml(book), encoding="utf-8")


def load_codebook(path: str | PathLike[str]) -> Codebook:
    """Read a codebook from .yaml/.yml or REFI-QDA .qdc, by extension."""
    from coding import qdc

    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml(path)
    if suffix == ".qdc":
        return qdc.read_qdc(path)
    raise InvalidCodebook(path, None, f"unsupported codebook type {suffix!r}; use .yaml, .yml or .qdc")


def save_codebook(book: Codebook, path: str | PathLike[str]) -> None:
    """Write a codebook as .yaml/.yml or REFI-QDA .qdc, by extension."""
    from coding import qdc

    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        write_yaml(book, path)
    elif suffix == ".qdc":
        qdc.write_qdc(book, path)
    else:
        raise InvalidCodebook(path, None, f"unsupported codebook type {suffix!r}; use .yaml, .yml or .qdc")


def convert(in_path: str | PathLike[str], out_path: str | PathLike[str]) -> Codebook:
    """Convert a codebook between YAML and REFI-QDA .qdc, choosing formats by extension."""
    book = load_codebook(in_path)
    save_codebook(book, out_path)
    return book
