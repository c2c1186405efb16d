"""Read YAML with line numbers kept, so every error can say where it is.

The one YAML loader of surveykit (instruments, codebooks, import mappings). It is ``yaml.safe_load`` made
total: whatever the text, it returns plain data (mappings, lists, text, numbers, true/false, null) or raises a
``yaml.MarkedYAMLError`` naming the line. Beyond ``safe_load`` it

- keeps dates as text (a ``2023-02-30`` is not a crash) and refuses explicit tags (``!!int``, ``!!binary``,
  ``!custom``), so only the plain shapes above come out;
- refuses numbers longer than :data:`MAX_NUMBER_CHARS` (Python refuses to print integers of 4,300+ digits)
  and malformed ones YAML 1.1 still calls numbers (``0b_``, ``._``);
- bounds the text (:data:`MAX_CHARS`), the nesting (:data:`MAX_DEPTH`, below Python's recursion limit) and
  the number of values counting every use of an alias (:data:`MAX_NODES`, so a "billion laughs" of anchors
  stops early); ``<<`` merge keys are plain keys (merging copies, which is another way to blow up).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

MAX_CHARS = 1_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000
MAX_NUMBER_CHARS = 100

_PLAIN_ONLY = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}


class YamlLimit(yaml.MarkedYAMLError):
    """YAML text beyond one of the loader's bounds (size, nesting, values, number length, tags)."""

    def __init__(self, problem: str, mark: Any = None) -> None:  # a yaml.Mark, or libyaml's
        super().__init__(problem=problem, problem_mark=mark)


class LineDict(dict[str, Any]):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Return the line of *key*, or of the mapping when the key is absent."""
        return self.key_lines.get(key, self.line)


# libyaml (shipped in PyYAML's wheels) reads several times faster; the pure-Python reader gives the same results.
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BASE):  # type: ignore[valid-type,misc]
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _PLAIN_ONLY]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _check_bounds(text: str) -> None:
    """Walk the events once (no recursion) and refuse tags, deep nesting and too many values before composing."""
    depth = nodes = 0
    sizes: dict[str, int] = {}  # anchor -> values under it, aliases expanded
    open_nodes: list[tuple[str | None, int]] = []
    for event in yaml.parse(text, Loader=_BASE):
        if isinstance(event, yaml.AliasEvent):
            nodes += sizes.get(str(event.anchor), 1)
        elif isinstance(event, yaml.NodeEvent):
            tag = getattr(event, "tag", None)
            if tag not in (None, "!"):
                raise YamlLimit(f"tags such as '{tag}' are not allowed: write plain values", event.start_mark)
            nodes += 1
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlLimit(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
                open_nodes.append((event.anchor, nodes - 1))
            elif event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, before = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = nodes - before
        else:
            continue
        if nodes > MAX_NODES:
            raise YamlLimit(f"more than {MAX_NODES:,} values (aliases counted each time they are used)",
                            event.start_mark)


def _checked_number(kind: str, construct: Any) -> Any:
    def constructor(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        value = str(node.value)
        if len(value.replace("_", "")) > MAX_NUMBER_CHARS:
            raise YamlLimit(f"a number of more than {MAX_NUMBER_CHARS} characters (quote it to make it text)",
                            node.start_mark)
        try:
            return construct(loader, node)
        except (ValueError, OverflowError):
            raise YamlLimit(f"'{value}' is not a valid {kind} (quote it to make it text)", node.start_mark) from None

    return constructor


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            raise ConstructorError(None, None, "mapping keys must be plain scalars", key_node.start_mark)
        key = str(key)
        if key in result:
            raise ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]
_LineLoader.add_constructor("tag:yaml.org,2002:int",
                            _checked_number("whole number", SafeConstructor.construct_yaml_int))
_LineLoader.add_constructor("tag:yaml.org,2002:float",
                            _checked_number("number", SafeConstructor.construct_yaml_float))


def load_yaml(text: str) -> Any:
    """Parse *text* like ``yaml.safe_load`` but with :class:`LineDict` mappings, within the bounds above.

    Raises only ``yaml.MarkedYAMLError`` (:class:`YamlLimit` for a bound or a value that cannot be read).
    """
    if len(text) > MAX_CHARS:
        raise YamlLimit(f"{len(text):,} characters; the limit is {MAX_CHARS:,}")
    try:
        _check_bounds(text)
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader derives from SafeLoader
    except yaml.MarkedYAMLError:
        raise
    except yaml.YAMLError as exc:  # e.g. a ReaderError (a control character), which has no line
        raise YamlLimit(f"cannot be read as YAML: {exc}") from None
