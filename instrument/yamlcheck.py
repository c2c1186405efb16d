"""Checks shared by every part of an instrument file: the error type, ids, text, flags, numbers, choices."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .model import Option
from .yamlsource import LineDict

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# Bounds on one instrument, far above any real questionnaire, so a mistaken or hostile file is refused early
# (instruments/README.md lists them; the YAML text itself is bounded in yamlsource).
MAX_SECTIONS = 200
MAX_QUESTIONS = 2_000
MAX_CHOICES = 1_000  # per list, scale or question
MAX_ITEMS = 200  # statements of one likert matrix
MAX_VERSION = 1_000_000


class InvalidInstrument(ValueError):
    """An instrument file that cannot be served; the message says where and what, one line per error.

    ``errors`` holds each ``file:line: ...`` message on its own (one, unless the parser collected several).
    """

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.errors: tuple[str, ...] = tuple(errors) or (message,)


class KnockOn(InvalidInstrument):
    """An error that only follows from one already reported (a condition on a broken question): not shown."""


class Ctx:
    """Where the file being read came from, to name it in every error; which language is being read; the errors
    collected so far."""

    def __init__(self, source: str, language: str = "en", languages: tuple[str, ...] = ("en",)) -> None:
        self.source = source
        self.language = language  # the language whose texts this reading picks
        self.languages = languages  # every language the file must give each text in
        self.errors: list[str] = []
        # Names that failed ("q:<id>", "choices:<name>", "scales:<name>"): a later use of one is a knock-on.
        self.broken: set[str] = set()

    @contextmanager
    def collecting(self, broken: str = "") -> Iterator[None]:
        """Record an error raised inside and carry on, so one run reports every independent error.

        *broken* names what the block defines, marked broken when it fails.
        """
        try:
            yield
        except KnockOn:
            if broken:
                self.broken.add(broken)
        except InvalidInstrument as exc:
            self.errors.extend(exc.errors)
            if broken:
                self.broken.add(broken)

    def knock_on(self, name: str) -> None:
        """Stop quietly when *name* failed earlier: its error is reported once, where it is."""
        if name in self.broken:
            raise KnockOn(f"{self.source}: {name} is broken")

    def raise_collected(self) -> None:
        """Raise every collected error at once, in line order."""
        if not self.errors:
            return
        prefix = len(self.source) + 1

        def line(message: str) -> int:
            head = message[prefix:].split(":", 1)[0]
            return int(head) if head.isdigit() else 0

        ordered = sorted(dict.fromkeys(self.errors), key=line)
        raise InvalidInstrument("\n".join(ordered), ordered)

    def fail(self, line: int, what: str, question: str | None = None) -> InvalidInstrument:
        """Return the error for *what* at *line* (of *question*, when given)."""
        where = f"{self.source}:{line}"
        if question:
            return InvalidInstrument(f"{where}: question '{question}': {what}")
        return InvalidInstrument(f"{where}: {what}")


def as_mapping(ctx: Ctx, value: Any, line: int, what: str, qid: str | None = None) -> LineDict:
    """Return *value* when it is a mapping; fail naming *what* otherwise."""
    if not isinstance(value, LineDict):
        raise ctx.fail(line, f"{what} must be a mapping", qid)
    return value


def text(ctx: Ctx, node: LineDict, key: str, *, required: bool = False, qid: str | None = None) -> str:
    """Return the text under *key* ('' when absent and not required)."""
    value = node.get(key)
    if value is None:
        if required:
            raise ctx.fail(node.line, f"'{key}' is required", qid)
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ctx.fail(node.line_of(key), f"'{key}' must be text", qid)
    return str(value).strip()


def words(ctx: Ctx, node: LineDict, key: str, *, required: bool = False, qid: str | None = None) -> str:
    """Return the respondent-facing text under *key* in the language being read ('' when absent).

    The text is plain when the instrument has one language, else a mapping with one text per language
    (``text: {en: ..., es: ...}``); a language left out is an error naming the line and the language.
    """
    value = node.get(key)
    if isinstance(value, LineDict):
        for lang in value:
            if lang not in ctx.languages:
                raise ctx.fail(value.line_of(lang), f"'{key}' has a text in '{lang}', which is not one of the "
                               f"instrument's languages ({', '.join(ctx.languages)})", qid)
        for lang in ctx.languages:
            if lang not in value:
                raise ctx.fail(value.line, f"'{key}' has no '{lang}' translation", qid)
        return text(ctx, value, ctx.language, required=True, qid=qid)
    if value is not None and len(ctx.languages) > 1:
        raise ctx.fail(node.line_of(key), f"'{key}' has no '{ctx.languages[1]}' translation (give one text per "
                       f"language: {key}: {{{', '.join(f'{lang}: ...' for lang in ctx.languages)}}})", qid)
    return text(ctx, node, key, required=required, qid=qid)


def flag(ctx: Ctx, node: LineDict, key: str, qid: str | None = None) -> bool:
    """Return the true/false under *key* (false when absent)."""
    value = node.get(key, False)
    if not isinstance(value, bool):
        raise ctx.fail(node.line_of(key), f"'{key}' must be true or false", qid)
    return value


def number(ctx: Ctx, node: LineDict, key: str, qid: str) -> float | None:
    """Return the number under *key* (None when absent)."""
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ctx.fail(node.line_of(key), f"'{key}' must be a number", qid)
    return float(value)


def unknown_keys(ctx: Ctx, node: LineDict, allowed: set[str] | frozenset[str], what: str,
                 qid: str | None = None) -> None:
    """Fail on the first key of *node* not in *allowed*."""
    for key in node:
        if key not in allowed:
            raise ctx.fail(node.line_of(key), f"unknown key '{key}' in {what}", qid)


def options(ctx: Ctx, raw: Any, line: int, qid: str | None) -> tuple[Option, ...]:
    """Read a list of options: plain labels, or mappings with code and label."""
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(line, "choices must be a non-empty list or the name of a choice list", qid)
    if len(raw) > MAX_CHOICES:
        raise ctx.fail(line, f"{len(raw)} choices; the limit is {MAX_CHOICES}", qid)
    found: list[Option] = []
    codes: set[str] = set()
    for entry in raw:
        if isinstance(entry, LineDict):
            unknown_keys(ctx, entry, {"code", "label"}, "a choice", qid)
            code = text(ctx, entry, "code", required=True, qid=qid)
            label = words(ctx, entry, "label", required=True, qid=qid)
            where = entry.line
        elif isinstance(entry, str | int) and not isinstance(entry, bool):
            if len(ctx.languages) > 1:
                raise ctx.fail(line, f"choice '{entry}' has no '{ctx.languages[1]}' translation (write "
                               "{code: ..., label: {" + ", ".join(f"{lang}: ..." for lang in ctx.languages)
                               + "}})", qid)
            label = str(entry).strip()
            code = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            where = line
        else:
            raise ctx.fail(line, "each choice must be a label or a mapping with code and label", qid)
        if not CODE_RE.match(code):
            raise ctx.fail(where, f"choice code '{code}' must be letters, digits, '_', '-' or '.'", qid)
        if code == "other":
            raise ctx.fail(where, "the code 'other' is reserved: use 'other: true' instead", qid)
        if code in codes:
            raise ctx.fail(where, f"duplicate choice code '{code}'", qid)
        codes.add(code)
        found.append(Option(code, label))
    return tuple(found)
