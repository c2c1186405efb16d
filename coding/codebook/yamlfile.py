"""Codebooks as YAML (read with instrument.yamlsource, so every error names its line).

Format::

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

Codes without a guid get the deterministic guid of their path (see coding.codebook.model).
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from coding.codebook.model import COLOR_RE, TEXT_FIELDS, Code, Codebook, path_guid
from coding.errors import InvalidCodebook
from instrument.yamlsource import LineDict, load_yaml

CODE_KEYS = frozenset({"name", "guid", *TEXT_FIELDS, "color", "retired", "children"})
TOP_KEYS = frozenset({"name", "codes"})
GUID_RE = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
                     r"|(\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\})")


def codebook_from_yaml(text: str, source: str | PathLike[str] = "<yaml>") -> Codebook:
    """Parse a YAML codebook; raise InvalidCodebook with file, line and code path on bad input."""
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise InvalidCodebook(source, mark.line + 1 if mark else None, str(e.problem or e.context)) from e
    except yaml.YAMLError as e:
        raise InvalidCodebook(source, None, str(e)) from e
    if not isinstance(data, LineDict):
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


def _line(mapping: LineDict, key: str | None = None) -> int:
    return mapping.line_of(key) if key is not None else mapping.line


def _check_keys(source: Any, mapping: LineDict, allowed: frozenset[str], path: str | None) -> None:
    for key in mapping:
        if key not in allowed:
            where = f"code {path!r}" if path else None
            known = ", ".join(sorted(allowed))
            what = f"unknown key {key!r} (known: {known})"
            raise InvalidCodebook(source, _line(mapping, key), what, where=where)


def _codes(source: Any, value: Any, owner: LineDict, key: str, parent_path: str) -> list[Code]:
    where = f"code {parent_path!r}" if parent_path else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidCodebook(source, _line(owner, key), f"'{key}' must be a list of codes", where=where)
    codes: list[Code] = []
    names: dict[str, int | None] = {}
    for position, item in enumerate(value, start=1):
        if not isinstance(item, LineDict):
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


def _code(source: Any, item: LineDict, parent_path: str, position: int) -> Code:
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
