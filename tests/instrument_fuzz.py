"""Hypothesis strategies for instrument-shaped YAML: mutated shipped instruments, random trees, raw tokens.

Used by tests/test_loader_fuzz.py. The raw tokens hold every crash the hardening pass found (YAML dates
that do not exist, explicit tags, 4,300+ digit integers, malformed YAML 1.1 numbers, deep nesting, anchors
that expand) plus YAML punctuation, so text-level mutations hit the scanner and parser as well.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from instrument import TYPES
from instrument.scales import BUILTIN_CHOICES, BUILTIN_SCALES

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "instruments").glob("*.yaml"))
                 if not p.name.endswith(".report.yaml")]  # report files are not instruments
SHIPPED_TREES = [yaml.safe_load(t) for t in SHIPPED_TEXTS]

KEYS = ["id", "version", "title", "intro", "consent", "thanks", "choices", "scales", "sections", "meta",
        "questions", "type", "text", "help", "required", "show_if", "other", "scale", "items", "long",
        "max_length", "coding", "integer", "min", "max", "unit", "max_ranks", "code", "label", "question",
        "equals", "not_equals", "in", "includes", "answered", "all", "any", "<<", "1", "~"]
WORDS = [*TYPES, *BUILTIN_SCALES, *BUILTIN_CHOICES, "q1", "department", "other", "demo", "a-b", "A", ""]

RAW_TOKENS = [
    "2023-02-30", "2023-02-28", "2001-12-14t21:59:43.10-05:00", "9999-99-99", "!!int abc", "!!int", "!!float",
    "!!float x", "!!binary AAAA", "!!binary '%%%'", "!!timestamp 2023-02-30", "!!set {a}", "!!omap [a: 1]",
    "!!pairs [a: 1]", "!!str 1", "!!null x", "!!bool maybe", "!!map []", "!!seq {}", "!!python/object:os.system x",
    "!!python/name:os.system", "!custom x", "!<tag:x> y", "!!merge x", "9" * 4301, "-" + "9" * 5000,
    "0x" + "f" * 5000, "0b" + "1" * 20000, "1" + "0" * 99, "1:2:3:4:5:6:7", "0b_", "0x_", "._", "0_", ".inf",
    "-.inf", ".nan", "1e400", "-1e400", "1_000", "=", "<<", "~", "null", "yes", "off", "", "''", '""',
    '"\\x00"', '"\\ud800"', "'\t'", "&a x", "*a", "*undefined", "&a [*a]", "[", "]", "{", "}", "- ", ": ", "? x",
    "%YAML 1.1", "---", "...", "|", ">", "@x", "`x", "#", "\\", '"', "'", "a: b: c", "[a, {b: [c, {d: e}]}]",
    "{<<: {a: 1}}", "\ufeff", "\u2028", "\x85", "\x07", "x\x00y", "é", "💥",
]


def _deep(depth: int) -> str:
    return "title: " + "[" * depth + "]" * depth + "\n"


def _deep_block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"


def _laughs(levels: int, width: int) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nsections: *a{levels - 1}\n"


def _many_choices(n: int, unique: bool = True) -> str:
    codes = "\n".join(f"          - {{code: c{i if unique else i % (n - 1)}, label: L{i}}}" for i in range(n))
    return ("id: big\nversion: 1\ntitle: Big\nsections:\n  - id: s\n    questions:\n      - id: q\n"
            "        type: single_choice\n        text: Q\n        choices:\n" + codes + "\n")


def _deep_show_if(depth: int) -> str:
    cond = "{question: a, answered: true}"
    for _ in range(depth):
        cond = "{all: [" + cond + "]}"
    return ("id: deep\nversion: 1\ntitle: Deep\nsections:\n  - id: s\n    questions:\n"
            "      - {id: a, type: text, text: A}\n      - {id: b, type: text, text: B, show_if: " + cond + "}\n")


def _merge_laughs(levels: int) -> str:
    lines = ["m0: &m0 {x0: 1}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], x{i}: 1}}")
    return "\n".join(lines) + "\n"


SPECIAL_TEXTS = [
    "title: 2023-02-30\n", "id: x\nversion: !!int abc\n", "title: !!float\n", "title: !!binary AAAA\n",
    "version: " + "9" * 4301 + "\n", "title: " + "9" * 5000 + "\n", _deep(1000), _deep(200), _deep(64), _deep(65),
    _deep_block(1000), _laughs(10, 9), _laughs(30, 2), _many_choices(16_000), _many_choices(16_000, unique=False),
    _many_choices(1_000), _deep_show_if(500), _deep_show_if(30), _merge_laughs(40), "- " * 500 + "x\n",
    "? " * 300 + "x\n", "a: &a\n  b: *a\n", "&a [*a]\n", "{? [a]: b}\n", "{[1]: 2}\n", "{null: 1}\n", "{1.5: x}\n",
    "---\na: 1\n---\nb: 2\n", "\x00", "x" * 1_000_001, "%TAG ! tag:example.com,2000:\n--- !foo x\n",
]


random_tags = st.builds(lambda tag, value: f"{tag} {value}", st.from_regex(r"\A!!?[a-z/:.<>]{0,12}\Z"),
                        st.sampled_from(["x", "1", "-1.5", "[]", "{}", "", "2023-02-30", "AAAA"]))
tokens = st.sampled_from(RAW_TOKENS) | random_tags | st.text(max_size=12)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10 ** 120), max_value=10 ** 120),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers(), st.booleans())
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=25,
)


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _paths(value, (*prefix, index))
    return found


def _replace(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return tree


@st.composite
def mutated_tree(draw: st.DrawFn) -> str:
    """A shipped instrument with one to three parts replaced, dropped or duplicated, dumped as YAML."""
    tree = copy.deepcopy(draw(st.sampled_from(SHIPPED_TREES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "scalar", "drop", "duplicate"]))
        if action == "replace":
            tree = _replace(tree, path, draw(trees))
        elif action == "scalar":
            tree = _replace(tree, path, draw(scalars))
        elif path:
            parent = tree
            for step in path[:-1]:
                parent = parent[step]
            if action == "drop":
                del parent[path[-1]]
            elif isinstance(parent, list):
                parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=draw(st.booleans()))


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """A shipped instrument's text with raw tokens put in place of values, or lines dropped, doubled, shifted."""
    lines = draw(st.sampled_from(SHIPPED_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        action = draw(st.sampled_from(["value", "value", "drop", "double", "indent", "insert"]))
        token = draw(tokens)
        if action == "value" and ": " in line:
            lines[index] = line[: line.index(": ") + 2] + token
        elif action == "value" and line.lstrip().startswith("- "):
            lines[index] = line[: line.index("- ") + 2] + token
        elif action == "drop":
            del lines[index]
        elif action == "double":
            lines.insert(index, line)
        elif action == "indent":
            lines[index] = " " * draw(st.integers(0, 6)) + line.lstrip()
        else:
            lines.insert(index, token)
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


@st.composite
def raw_document(draw: st.DrawFn) -> str:
    """A few `key: token` lines, or a random tree dumped with a raw token spliced in."""
    if draw(st.booleans()):
        parts = [f"{draw(st.sampled_from(KEYS))}: {draw(tokens)}"
                 for _ in range(draw(st.integers(1, 4)))]
        return "\n".join(parts) + "\n"
    text = yaml.safe_dump(draw(trees))
    cut = draw(st.integers(0, len(text)))
    return text[:cut] + draw(tokens) + text[cut:]


instrument_texts = st.one_of(
    mutated_tree(), mutated_tree(), mutated_text(), mutated_text(), raw_document(),
    trees.map(lambda t: yaml.safe_dump(t)), st.sampled_from(SPECIAL_TEXTS), st.text(max_size=200),
)
