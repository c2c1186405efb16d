"""The instrument as data: sections, questions, options, scales, conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Option:
    code: str
    label: str


@dataclass(frozen=True)
class Scale:
    id: str
    levels: tuple[Option, ...]  # codes are "1".."n", lowest first


@dataclass(frozen=True)
class Item:
    id: str
    text: str


@dataclass(frozen=True)
class Condition:
    """When a question is shown: a test on an earlier answer, or all/any of several."""

    op: str  # equals, not_equals, in, includes, answered, all, any
    question: str = ""
    values: tuple[str, ...] = ()
    parts: tuple[Condition, ...] = ()

    def questions(self) -> set[str]:
        """Return every question id this condition reads."""
        found = {self.question} if self.question else set()
        for part in self.parts:
            found |= part.questions()
        return found

    def describe(self) -> str:
        """Return the condition as a short human-readable sentence."""
        if self.op == "all":
            return " and ".join(f"({p.describe()})" for p in self.parts)
        if self.op == "any":
            return " or ".join(f"({p.describe()})" for p in self.parts)
        if self.op == "answered":
            return f"{self.question} is answered"
        joined = ", ".join(self.values)
        words = {"equals": "is", "not_equals": "is not", "in": "is one of", "includes": "includes"}
        return f"{self.question} {words[self.op]} {joined}"


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    line: int
    section: str
    help: str = ""
    required: bool = False
    options: tuple[Option, ...] = ()
    other: bool = False  # an "Other, please specify" option with a text box
    scale: Scale | None = None
    items: tuple[Item, ...] = ()  # likert matrix rows; empty for a single-item likert
    long: bool = False  # text: textarea rather than one line
    max_length: int = 0
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    max_ranks: int = 0  # ranking: how many of the choices may be ranked
    show_if: Condition | None = None
    coding: bool = False  # open-ended answers offered to the qualitative coding module

    @property
    def choices(self) -> tuple[Option, ...]:
        """Return the answer options of a choice, ranking or likert question."""
        if self.scale is not None:
            return self.scale.levels
        return self.options

    def label_of(self, code: str) -> str:
        """Return the label of an option code (the code itself when unknown)."""
        if code == "other":
            return "Other"
        for option in self.choices:
            if option.code == code:
                return option.label
        return code


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    questions: tuple[Question, ...]
    intro: str = ""


@dataclass(frozen=True)
class Instrument:
    id: str
    version: int
    title: str
    sections: tuple[Section, ...]
    sha256: str
    source: str  # where it was read from, for messages
    intro: str = ""
    consent: str = ""
    thanks: str = "Thank you. Your answers have been recorded."
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def questions(self) -> tuple[Question, ...]:
        """Return all questions in order."""
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, qid: str) -> Question:
        """Return the question with id *qid* (KeyError when unknown)."""
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def coded_questions(self) -> tuple[Question, ...]:
        """Return the open-ended questions marked for qualitative coding."""
        return tuple(q for q in self.questions if q.coding)
