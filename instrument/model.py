"""The instrument as data: sections, questions, options, scales, conditions, scored scales."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .messages import N_

# The built-in question recording the language a response was given in (instruments with several languages):
# an answer like any other, one column in every export, never metadata about the respondent.
LANGUAGE_QUESTION = "language"


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    builtin: bool = False  # a built-in list's label (instrument.scales): the app's catalogue translates it


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
class ScoreItem:
    """One item of a score: where its answer is, what it counts as, whether it is reverse-keyed."""

    question: str
    item: str  # a likert matrix statement, or "" for a single-answer question
    low: float  # the item's range once shifted (likert: the lowest level counts as ``low``)
    high: float
    shift: float = 0.0  # added to the stored answer (likert levels are stored 1..n)
    reverse: bool = False

    @property
    def ref(self) -> str:
        """Return the item as written in the instrument: ``question`` or ``question.item``."""
        return f"{self.question}.{self.item}" if self.item else self.question


@dataclass(frozen=True)
class Cutoff:
    """A named threshold on a score (``burnout >= 1.33`` -> "burned out")."""

    label: str
    op: str  # at_least, above, at_most, below
    value: float

    def met(self, score: float) -> bool:
        """Say whether *score* meets this cut-off."""
        if self.op == "at_least":
            return score >= self.value
        if self.op == "above":
            return score > self.value
        if self.op == "at_most":
            return score <= self.value
        return score < self.value

    def describe(self) -> str:
        """Return the cut-off as text: "burned out (score >= 1.33)"."""
        sign = {"at_least": ">=", "above": ">", "at_most": "<=", "below": "<"}[self.op]
        return f"{self.label} (score {sign} {self.value:g})"


@dataclass(frozen=True)
class Score:
    """A scored scale: the mean or sum of items, its missing-item rule, rescaling and cut-offs."""

    id: str
    label: str
    line: int
    method: str  # mean or sum
    items: tuple[ScoreItem, ...]
    max_missing: int = 0  # more items missing than this -> no score
    rescale: tuple[float, float] | None = None  # the natural range mapped linearly onto this one
    cutoffs: tuple[Cutoff, ...] = ()

    @property
    def natural_range(self) -> tuple[float, float]:
        """Return the range before rescaling (items share one range; a sum spans n times it)."""
        low, high = self.items[0].low, self.items[0].high
        n = len(self.items) if self.method == "sum" else 1
        return low * n, high * n

    @property
    def range(self) -> tuple[float, float]:
        """Return the range of the score as reported."""
        return self.rescale if self.rescale is not None else self.natural_range

    def describe(self) -> str:
        """Return how the score is computed, for notes and the data dictionary."""
        reversed_ = [i.ref for i in self.items if i.reverse]
        low, high = self.range
        text = (f"{self.method} of {len(self.items)} items ({', '.join(i.ref for i in self.items)}); "
                f"range {low:g} to {high:g}")
        if reversed_:
            text += f"; reverse-keyed: {', '.join(reversed_)}"
        if self.max_missing:
            text += (f"; scored when at most {self.max_missing} of {len(self.items)} items are missing"
                     + (" (sum prorated: mean of the answered items times the number of items)"
                        if self.method == "sum" else ""))
        else:
            text += "; scored only when every item is answered"
        if self.rescale is not None:
            nlow, nhigh = self.natural_range
            text += f"; rescaled linearly from {nlow:g}-{nhigh:g}"
        return text


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
    thanks: str = N_("Thank you. Your answers have been recorded.")
    meta: dict[str, Any] = field(default_factory=dict)
    scores: tuple[Score, ...] = ()
    language: str = "en"  # BCP 47: the language of this copy's texts
    languages: tuple[str, ...] = ("en",)  # every language the file gives its texts in, its own first
    translations: Mapping[str, Instrument] = field(default_factory=dict, compare=False, repr=False)

    @property
    def questions(self) -> tuple[Question, ...]:
        """Return all questions in order (with the built-in language question last, when several languages)."""
        asked = tuple(q for s in self.sections for q in s.questions)
        return asked + (self.language_question,) if len(self.languages) > 1 else asked

    @property
    def language_question(self) -> Question:
        """Return the built-in question whose answer is the language a response was given in."""
        return Question(LANGUAGE_QUESTION, "single_choice", "Language", 0, "",
                        options=tuple(Option(lang, lang) for lang in self.languages))

    def in_language(self, language: str) -> Instrument:
        """Return this instrument with its texts in *language* (itself when it has no such translation)."""
        return self.translations.get(language, self)

    def question(self, qid: str) -> Question:
        """Return the question with id *qid* (KeyError when unknown)."""
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def coded_questions(self) -> tuple[Question, ...]:
        """Return the open-ended questions marked for qualitative coding."""
        return tuple(q for q in self.questions if q.coding)
