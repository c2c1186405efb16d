"""What a Likert chart shows, whatever draws it: the palette, each bar's shares of its n, and the hidden share.

One source of truth for the workbook's native charts (:mod:`exports.charts`, openpyxl) and the browser's SVG
charts (:mod:`exports.svgcharts`): both read the bars built here, so a count hidden in a table is hidden on
either chart, every bar spans 100% of its n, and a hidden part is one labelled segment, never rescaled away.
Pure Python (no openpyxl), so the web pages can use it without loading the workbook writer.

Colours: Likert levels run from the most negative to the most positive, so they take a diverging scheme
(ColorBrewer's RdBu: red, a light neutral middle, blue). It is one of ColorBrewer's colour-blind-safe
schemes (red against blue stays apart for deuteranopes and protanopes, unlike Office's default
red/green-ish series), it prints in greyscale as a light-to-dark-to-light ramp, and the neutral level
sits in the middle of an odd scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from instrument import Question

from .stats import Collector, LevelCounts, LikertSummary
from .suppress import Suppression
from .tables import likert_hidden
from .tabular.percent import percent

# ColorBrewer RdBu (Brewer, colorbrewer2.org), negative -> positive; 2 levels take the 4-class ends.
RDBU: dict[int, tuple[str, ...]] = {
    2: ("CA0020", "0571B0"),
    3: ("EF8A62", "F7F7F7", "67A9CF"),
    4: ("CA0020", "F4A582", "92C5DE", "0571B0"),
    5: ("CA0020", "F4A582", "F7F7F7", "92C5DE", "0571B0"),
    6: ("B2182B", "EF8A62", "FDDBC7", "D1E5F0", "67A9CF", "2166AC"),
    7: ("B2182B", "EF8A62", "FDDBC7", "F7F7F7", "D1E5F0", "67A9CF", "2166AC"),
    8: ("B2182B", "D6604D", "F4A582", "FDDBC7", "D1E5F0", "92C5DE", "4393C3", "2166AC"),
    9: ("B2182B", "D6604D", "F4A582", "FDDBC7", "F7F7F7", "D1E5F0", "92C5DE", "4393C3", "2166AC"),
    10: ("67001F", "B2182B", "D6604D", "F4A582", "FDDBC7", "D1E5F0", "92C5DE", "4393C3", "2166AC", "053061"),
    11: ("67001F", "B2182B", "D6604D", "F4A582", "FDDBC7", "F7F7F7", "D1E5F0", "92C5DE", "4393C3", "2166AC",
         "053061"),
}
OUTLINE = "808080"  # a thin grey edge keeps the near-white neutral segment visible on white paper
HIDDEN_LABEL = "Hidden (suppressed small counts)"


def diverging(n: int) -> tuple[str, ...]:
    """Return *n* colours from negative to positive (RdBu; a single level gets the neutral)."""
    if n <= 1:
        return ("F7F7F7",) * n
    if n in RDBU:
        return RDBU[n]
    ramp = RDBU[11]  # longer scales: spread the 11 colours over the levels
    return tuple(ramp[round(i * 10 / (n - 1))] for i in range(n))


def shares(counts: Sequence[int], hidden: Sequence[bool], answered: int) -> tuple[list[float | None], float]:
    """Return each level's percentage of *answered* (None where hidden) and the hidden levels' share.

    The hidden share is 100 less the shown percentages, so a bar always spans 100%; it is 0 when nothing
    is hidden (the shown percentages then add up to 100 within rounding).
    """
    if not answered:
        return [None] * len(counts), 0.0
    out = [None if h else percent(n, answered) for n, h in zip(counts, hidden, strict=True)]
    if not any(hidden):
        return out, 0.0
    return out, round(100 - sum(v for v in out if v is not None), 1)


@dataclass
class Bar:
    """One bar: its label, n answered, per level the count (or its mark, '<5'/'x') and % (None where hidden)."""

    label: str
    answered: int
    counts: list[int | str]
    pcts: list[float | None]
    hidden_share: float
    hidden: list[bool] = field(default_factory=list)

    @property
    def any_hidden(self) -> bool:
        """Say whether a level of this bar is hidden."""
        return any(self.hidden)


@dataclass
class LikertChart:
    """One chart: a title (the question text), the level labels from most negative, and its bars."""

    key: str
    title: str
    legend: list[str]
    bars: list[Bar]
    note: str = ""
    scales: list[str] = field(default_factory=list)  # per bar, its own scale's labels (report charts)

    @property
    def colours(self) -> tuple[str, ...]:
        """Return the level colours, negative to positive."""
        return diverging(len(self.legend))

    @property
    def no_chart(self) -> str:
        """Return why no chart can be drawn ('' when one can): nobody answered, or every count is hidden."""
        if not any(b.answered for b in self.bars):
            return "nobody answered"
        if all(not b.answered or all(h or c == 0 for c, h in zip(b.counts, b.hidden, strict=True))
               for b in self.bars):
            return "every count is hidden (too few answers to show)"
        return ""


def bar(label: str, counts: LevelCounts, levels: Sequence[str], rule: Suppression) -> Bar:
    """Return a statement's bar, hidden exactly where its table hides (``tables.likert_hidden``)."""
    values, hidden = likert_hidden(counts, levels, rule)
    is_hidden = [c in hidden for c in levels]
    shown = [rule.mark_for(values[c]) if c in hidden else values[c] for c in levels]
    pcts, hidden_share = shares([values[c] for c in levels], is_hidden, counts.answered)
    return Bar(f"{label} (n = {counts.answered})", counts.answered, shown, pcts, hidden_share, is_hidden)


def exact_bar(label: str, counts: Sequence[int], answered: int) -> Bar:
    """Return a bar of exact counts (a report file's chart, for the research team)."""
    pcts, hidden_share = shares(counts, [False] * len(counts), answered)
    return Bar(f"{label} (n = {answered})", answered, list(counts), pcts, hidden_share, [False] * len(counts))


def likert_questions(collector: Collector) -> list[tuple[Question, list[tuple[str, LevelCounts]]]]:
    """Return each likert question with its bars: [(question, [(bar label, counts)])], in question order."""
    out: list[tuple[Question, list[tuple[str, LevelCounts]]]] = []
    for q in collector.instrument.questions:
        summary = collector.total[q.id]
        if not isinstance(summary, LikertSummary) or q.scale is None:
            continue
        if q.items:
            bars = [(item.text, summary.items[item.id]) for item in q.items]
        else:
            bars = [("All who answered", summary.items[""])]
        out.append((q, bars))
    return out


def likert_charts(collector: Collector, rule: Suppression) -> list[LikertChart]:
    """Return one chart per likert question, its counts hidden where the question's tables hide them."""
    charts = []
    for q, statements in likert_questions(collector):
        levels = [o.code for o in q.scale.levels] if q.scale is not None else []
        bars = [bar(text, counts, levels, rule) for text, counts in statements]
        note = f"Question '{q.id}'. Percentages of those who answered each statement; each bar is 100% of its n."
        if any(b.any_hidden for b in bars):
            note += (f" Counts hidden in the tables ({rule.mark}, x) are hidden here too; their share is drawn "
                     "as one hatched 'Hidden' segment, not spread over the others.")
        charts.append(LikertChart(q.id, q.text, [q.label_of(c) for c in levels], bars, note))
    return charts
