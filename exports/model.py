"""What exports read besides the instrument (:mod:`instrument`'s own types): a survey's facts and answer dicts.

Answers are the stored format of instrument.answers: a dict keyed by question id, a key present
exactly when the question was shown, value None when shown and left unanswered. Values: single_choice ->
option code; multiple_choice -> list of codes; likert -> int level, or {item id: int level or None} for a
matrix; text -> str; number -> int or float; date -> "YYYY-MM-DD"; ranking -> list of codes in rank order;
"<id>.other" holds an "Other" text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

Answers = dict[str, Any]


@dataclass(frozen=True)
class DepartmentRate:
    """One department's line of the response rates: counts, or their suppression marks ('<5', 'x')."""

    department: str
    invited: int | str
    answered: int | str | None
    rate: float | None


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
    departments: tuple[DepartmentRate, ...] = ()

    @property
    def response_rate(self) -> float | None:
        """Return answered / invited as a fraction, when both are known and invited > 0."""
        if self.invited and self.answered is not None:
            return self.answered / self.invited
        return None
