"""Descriptive statistics per question, accumulated in one pass over streamed answer dicts.

Denominators come straight from the stored format: a question was *shown* when its key is present, and
*answered* when the value is not None/empty. So:

* single choice: n (%) of the respondents shown the question, with "No answer" as its own row, so the
  rows add up to 100% ("Of the 66 aware, 30 (45.5%) referred a colleague");
* multiple choice: each option as n (%) of the respondents shown the question (several answers possible;
  "lack of time 36 (54.5%) of 66");
* likert: n (%) per level of the respondents who answered (as the paper's 100% stacked bars), top-two-box,
  median level;
* number: n, mean, SD (n-1), median, quartiles and IQR (linear interpolation, as numpy's default and
  Excel's QUARTILE.INC), range;
* date: counts by month and by year; text: answered n (%) of shown;
* ranking: per option, how many ranked it (n (%) of those who ranked any), its mean rank among them, and
  how many ranked it first;
* scored scales (the instrument's ``scores:``): per score, n scored and n missing (too many items missing)
  of all respondents, the scores' descriptives as for numbers, and how many meet each cut-off.

Each question type names its summary *kind* (instrument.types); :data:`SUMMARIES` maps a kind to its class,
and a kind not in it is an error (``UnsupportedType``): no question is silently summarised as text.

Memory: counters only, except numbers, whose values are kept in one ``array('d')`` per number question
(8 bytes per answer: 50,000 answers to a number question take 400 kB) because medians need them all.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from instrument import Instrument, Question, Score, UnsupportedType, question_type, score_value

from .model import Answers


def quantile(ordered: Sequence[float], q: float) -> float:
    """Return the *q* quantile of sorted values by linear interpolation (numpy's default, Excel's QUARTILE.INC)."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


_ABSENT = object()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def option_codes(question: Question, counts: Iterable[str]) -> list[str]:
    """Return a question's option codes in order, then 'other', then codes answered but no longer offered."""
    order = [o.code for o in question.choices]
    if question.other:
        order.append("other")
    return order + sorted(c for c in counts if c not in order)


@dataclass
class Summary:
    """What every question's summary has: how many respondents were shown it and how many answered."""

    question: Question
    shown: int = 0
    answered: int = 0

    @property
    def unanswered(self) -> int:
        """Return how many were shown the question and left it empty."""
        return self.shown - self.answered

    def add(self, answers: Answers) -> None:
        """Count one response."""
        if self.question.id not in answers:
            return
        self.shown += 1
        value = answers[self.question.id]
        if not _empty(value):
            self.answered += 1
            self.take(value)

    def take(self, value: Any) -> None:
        """Count one non-empty answer (subclasses that keep more than shown/answered)."""

    counts_values = True  # False where take() does nothing, so the hot loop can skip the call


@dataclass
class ChoiceSummary(Summary):
    """A single-choice question: count per option code."""

    counts: Counter[str] = field(default_factory=Counter)

    def take(self, value: Any) -> None:
        self.counts[value if value.__class__ is str else str(value)] += 1

    def codes(self) -> list[str]:
        """Return the option codes in instrument order, then 'other', then codes no longer offered."""
        return option_codes(self.question, self.counts)


@dataclass
class MultiSummary(Summary):
    """A multiple-choice question: respondents choosing each option; 'none chosen' is the empty answer."""

    counts: Counter[str] = field(default_factory=Counter)

    def take(self, value: Any) -> None:
        for code in set(value):
            self.counts[str(code)] += 1

    def codes(self) -> list[str]:
        """Return the option codes in instrument order, then 'other', then codes no longer offered."""
        return option_codes(self.question, self.counts)


@dataclass
class LevelCounts:
    """Answers to one likert statement: count per level code."""

    answered: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, level: Any) -> None:
        self.answered += 1
        self.counts[str(level)] += 1

    def median(self, levels: Sequence[str]) -> float | None:
        """Return the median level (the mean of the two middle ones when the number of answers is even)."""
        if not self.answered:
            return None
        middle = [(self.answered - 1) // 2, self.answered // 2]
        found: list[float] = []
        seen = 0
        for code in levels:
            n = self.counts.get(code, 0)
            for position in middle:
                if seen <= position < seen + n:
                    found.append(float(code))
            seen += n
        return sum(found) / len(found) if found else None

    def top(self, levels: Sequence[str], boxes: int = 2) -> int:
        """Return how many answered one of the *boxes* highest levels."""
        return sum(self.counts.get(code, 0) for code in levels[-boxes:])


@dataclass
class LikertSummary(Summary):
    """A likert question: level counts for its single statement or for each item of a matrix."""

    items: dict[str, LevelCounts] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.question.items or ():
            self.items[item.id] = LevelCounts()
        if not self.question.items:
            self.items[""] = LevelCounts()

    def levels(self) -> list[str]:
        """Return the scale's level codes, lowest first."""
        scale = self.question.scale
        return [o.code for o in scale.levels] if scale is not None else []

    def take(self, value: Any) -> None:
        if isinstance(value, dict):
            for item_id, level in value.items():
                if level is not None and item_id in self.items:
                    self.items[item_id].add(level)
        else:
            self.items[""].add(value)


@dataclass
class NumberSummary(Summary):
    """A number question: the values, kept compactly for median and quartiles."""

    values: array = field(default_factory=lambda: array("d"))

    def take(self, value: Any) -> None:
        self.values.append(float(value))

    def describe(self) -> dict[str, float] | None:
        """Return n, mean, sd, min, q1, median, q3, iqr, max (None when nobody answered)."""
        n = len(self.values)
        if not n:
            return None
        ordered = sorted(self.values)
        mean = math.fsum(ordered) / n
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in ordered) / (n - 1)) if n > 1 else math.nan
        q1, median, q3 = (quantile(ordered, q) for q in (0.25, 0.5, 0.75))
        return {"n": n, "mean": mean, "sd": sd, "min": ordered[0], "q1": q1, "median": median, "q3": q3,
                "iqr": q3 - q1, "max": ordered[-1]}


@dataclass
class DateSummary(Summary):
    """A date question: counts by month ("YYYY-MM") and by year."""

    months: Counter[str] = field(default_factory=Counter)
    years: Counter[str] = field(default_factory=Counter)

    def take(self, value: Any) -> None:
        text = str(value)
        self.months[text[:7]] += 1
        self.years[text[:4]] += 1


@dataclass
class TextSummary(Summary):
    """An open-ended question: how many answered (the texts themselves go to the raw data in full)."""

    counts_values = False


@dataclass
class RankingSummary(Summary):
    """A ranking question: per option code, how many ranked it, the sum of its ranks, how many ranked it first."""

    ranked: Counter[str] = field(default_factory=Counter)
    rank_sums: Counter[str] = field(default_factory=Counter)
    first: Counter[str] = field(default_factory=Counter)

    def take(self, value: Any) -> None:
        for rank, code in enumerate(value, start=1):
            code = str(code)
            self.ranked[code] += 1
            self.rank_sums[code] += rank
        self.first[str(value[0])] += 1

    def mean_rank(self, code: str) -> float | None:
        """Return the mean rank of *code* among those who ranked it (None when nobody did)."""
        n = self.ranked.get(code, 0)
        return self.rank_sums[code] / n if n else None

    def codes(self) -> list[str]:
        """Return the option codes in instrument order, then codes ranked but no longer offered."""
        return option_codes(self.question, self.ranked)


@dataclass
class ScoreSummary:
    """A scored scale over the responses: its values (for median and quartiles) and how many were not scored."""

    score: Score
    respondents: int = 0
    values: array = field(default_factory=lambda: array("d"))

    @property
    def missing(self) -> int:
        """Return how many responses had too many items missing to be scored."""
        return self.respondents - len(self.values)

    def add(self, answers: Answers) -> None:
        """Score one response."""
        self.respondents += 1
        value = score_value(self.score, answers)
        if value is not None:
            self.values.append(value)

    def describe(self) -> dict[str, float] | None:
        """Return n, mean, sd, min, q1, median, q3, iqr, max of the scores (None when none was scored)."""
        counted = NumberSummary(Question(self.score.id, "number", self.score.label, self.score.line, "scores"))
        counted.values = self.values
        return counted.describe()

    def meeting(self) -> list[int]:
        """Return how many scores meet each cut-off, in the score's cut-off order."""
        return [sum(1 for v in self.values if cut.met(v)) for cut in self.score.cutoffs]


SUMMARIES: dict[str, type[Summary]] = {
    "choice": ChoiceSummary, "multi": MultiSummary, "likert": LikertSummary, "number": NumberSummary,
    "date": DateSummary, "text": TextSummary, "ranking": RankingSummary,
}


def summary_for(question: Question) -> Summary:
    """Return an empty summary of the right kind for *question*; raise UnsupportedType for an unmapped kind."""
    kind = question_type(question.type).summary
    if kind not in SUMMARIES:
        raise UnsupportedType(f"question '{question.id}': no summary for the kind '{kind}' of type "
                              f"'{question.type}'")
    return SUMMARIES[kind](question)


class Descriptives:
    """Summaries of every question of an instrument over a set of responses."""

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.respondents = 0
        self.summaries: dict[str, Summary] = {q.id: summary_for(q) for q in instrument.questions}
        self.scores = [ScoreSummary(s) for s in instrument.scores]
        self._plan = [(qid, s, s.take if s.counts_values else None) for qid, s in self.summaries.items()]

    def add(self, answers: Answers) -> None:
        """Count one response."""
        # Summary.add inlined: this loop runs once per question per response, the export's hottest path.
        self.respondents += 1
        get = answers.get
        for qid, summary, take in self._plan:
            value = get(qid, _ABSENT)
            if value is _ABSENT:
                continue
            summary.shown += 1
            if value is None or value == "" or value == []:
                continue
            summary.answered += 1
            if take is not None:
                take(value)
        for score in self.scores:
            score.add(answers)

    def __getitem__(self, question_id: str) -> Summary:
        return self.summaries[question_id]


NO_GROUP = ""  # the group of respondents not shown the grouping question or not answering it


class CrossTab:
    """Descriptives per answer to one single-choice question (e.g. by department, by had an interaction)."""

    def __init__(self, instrument: Instrument, by: Question) -> None:
        if not isinstance(summary_for(by), ChoiceSummary):
            raise ValueError(f"cross-tabulation needs a single-choice question; '{by.id}' is {by.type}")
        self.instrument = instrument
        self.by = by
        self.groups: dict[str, Descriptives] = {}
        for code in ChoiceSummary(by).codes():
            self.groups[code] = Descriptives(instrument)

    def add(self, answers: Answers) -> None:
        """Count one response in its group."""
        value = answers.get(self.by.id)
        code = NO_GROUP if _empty(value) else str(value)
        group = self.groups.get(code)
        if group is None:
            group = self.groups[code] = Descriptives(self.instrument)
        group.add(answers)

    def group_codes(self) -> list[str]:
        """Return the groups in option order, the no-answer group last (only when it has respondents)."""
        codes = [c for c in self.groups if c != NO_GROUP]
        return codes + ([NO_GROUP] if NO_GROUP in self.groups else [])


class Collector:
    """Everything one export tabulates, fed one response at a time."""

    def __init__(self, instrument: Instrument, by: Iterable[str] = ()) -> None:
        self.instrument = instrument
        self.total = Descriptives(instrument)
        self.crosstabs: list[CrossTab] = []
        known = {q.id: q for q in instrument.questions}
        for qid in by:
            if qid not in known:
                raise ValueError(f"no question '{qid}' in instrument '{instrument.id}' to cross-tabulate by")
            self.crosstabs.append(CrossTab(instrument, known[qid]))

    def add(self, answers: Answers) -> None:
        """Count one response everywhere."""
        self.total.add(answers)
        for crosstab in self.crosstabs:
            crosstab.add(answers)


def describe(instrument: Instrument, responses: Iterable[Answers], by: Iterable[str] = ()) -> Collector:
    """Tabulate *responses* (any iterable of answer dicts, consumed once)."""
    collector = Collector(instrument, by)
    for answers in responses:
        collector.add(answers)
    return collector
