"""The registered question types, by name: the one place that knows which types exist."""

from __future__ import annotations

from ..qtype import QuestionType, UnsupportedType
from .choice import LIKERT, MULTIPLE_CHOICE, SINGLE_CHOICE
from .free import DATE, NUMBER, TEXT
from .ranking import RANKING

TYPES: dict[str, QuestionType] = {t.name: t for t in (SINGLE_CHOICE, MULTIPLE_CHOICE, LIKERT, TEXT, NUMBER, DATE,
                                                      RANKING)}


def question_type(name: str) -> QuestionType:
    """Return the registered type called *name*; raise UnsupportedType for any other."""
    try:
        return TYPES[name]
    except KeyError:
        raise UnsupportedType(f"unknown question type '{name}' (one of: {', '.join(TYPES)})") from None
