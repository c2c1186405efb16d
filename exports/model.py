"""What exports read: the instrument as a duck-typed object, a survey's facts, and answer dicts.

exports never imports surveyapp (nor Flask): instrument's frozen dataclasses satisfy these protocols
(read-only attributes, hence properties), and so would any object with the same attributes.

Answers are the stored format of instrument.answers: a dict keyed by question id, a key present
exactly when the question was shown, value None when shown and left unanswered. Values: single_choice ->
option code; multiple_choice -> list of codes; likert -> int level, or {item id: int level or None} for a
matrix; text -> str; number -> int or float; date -> "YYYY-MM-DD"; "<id>.other" holds an "Other" text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class OptionLike(Protocol):
    @property
    def code(self) -> str: ...

    @property
    def label(self) -> str: ...


class ScaleLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def levels(self) -> Sequence[OptionLike]: ...  # codes "1".."n", lowest first


class ItemLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...


class ConditionLike(Protocol):
    def describe(self) -> str: ...


class QuestionLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...  # single_choice, multiple_choice, likert, text, number, date

    @property
    def text(self) -> str: ...

    @property
    def section(self) -> str: ...

    @property
    def required(self) -> bool: ...

    @property
    def options(self) -> Sequence[OptionLike]: ...

    @property
    def other(self) -> bool: ...

    @property
    def scale(self) -> ScaleLike | None: ...

    @property
    def items(self) -> Sequence[ItemLike]: ...

    @property
    def max_length(self) -> int: ...

    @property
    def integer(self) -> bool: ...

    @property
    def unit(self) -> str: ...

    @property
    def show_if(self) -> ConditionLike | None: ...

    @property
    def choices(self) -> Sequence[OptionLike]: ...


class SectionLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def questions(self) -> Sequence[QuestionLike]: ...


class InstrumentLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def title(self) -> str: ...

    @property
    def sections(self) -> Sequence[SectionLike]: ...

    @property
    def questions(self) -> Sequence[QuestionLike]: ...


Answers = dict[str, Any]


@dataclass(frozen=True)
class SurveyInfo:
    """The facts about a survey that the summary sheet states; None where unknown."""

    slug: str
    title: str
    instrument_id: str
    instrument_version: int
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    invited: int | None = None
    answered: int | None = None
    exported_on: dt.date | None = None

    @property
    def response_rate(self) -> float | None:
        """Return answered / invited as a fraction, when both are known and invited > 0."""
        if self.invited and self.answered is not None:
            return self.answered / self.invited
        return None


def label_of(question: QuestionLike, code: str) -> str:
    """Return the label of an option code of *question* ('Other' for 'other'; the code itself when unknown)."""
    if code == "other":
        return "Other"
    for option in question.choices:
        if option.code == code:
            return option.label
    return code
