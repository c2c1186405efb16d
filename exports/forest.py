"""What a forest chart shows, whoever draws it (pure): one row per outcome, its estimate and 95% CI, the axis.

Two arms: each outcome's baseline-adjusted difference (ANCOVA: follow-up ~ arm + baseline), first arm minus
second, the trial's primary estimate. One group (pre/post): each outcome's mean change, follow-up minus baseline,
paired or unpaired as :func:`exports.trial.pre_post` decided. The measure is stated on every chart, so a reader
never mistakes a change for a difference. The axis always holds 0 (the line of no difference) and every CI.
Read by :mod:`exports.charts` (the workbook's native chart) and :mod:`exports.svgcharts` (the page's SVG).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .trial import Comparison, Estimate, PrePost, TrialError

INK = "2166AC"  # the whiskers and points in both drawings: ColorBrewer RdBu's strongest blue
MINUS = "\u2212"  # a typographic minus: "−0.79", as a manuscript prints it


@dataclass(frozen=True)
class ForestRow:
    """One outcome: its name, the plotted estimate with its CI, and the n it rests on."""

    outcome: str
    estimate: Estimate
    n: str  # "63 + 63" for two arms, "126" for one group

    @property
    def figures(self) -> str:
        """Return "−0.79 (−1.27 to −0.32)"."""
        return figure_text(self.estimate)


@dataclass(frozen=True)
class Forest:
    """The rows, what they measure, and the axis that holds them all and 0."""

    title: str
    measure: str
    rows: tuple[ForestRow, ...]

    def axis(self) -> tuple[float, float, float]:
        """Return (low, high, step): round ticks spanning 0 and every CI."""
        return nice_axis(min(0.0, *(r.estimate.low for r in self.rows)),
                         max(0.0, *(r.estimate.high for r in self.rows)))

    def ticks(self) -> list[float]:
        """Return the axis ticks from low to high."""
        low, high, step = self.axis()
        count = round((high - low) / step)
        return [round(low + i * step, 10) for i in range(count + 1)]


def figure_text(estimate: Estimate, digits: int = 2) -> str:
    """Return an estimate and its CI with typographic minus signs: "−0.79 (−1.27 to −0.32)"."""
    return estimate.text(digits).replace("-", MINUS)


def nice_axis(low: float, high: float, ticks: int = 5) -> tuple[float, float, float]:
    """Return (low, high, step) widened to multiples of a 1, 2 or 5 step, about *ticks* intervals."""
    # Written here: the usual "nice numbers" rule is a few lines, and a plotting library is a heavy import.
    span = high - low if high > low else max(abs(high), 1.0)
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    if end <= start:
        end = start + step
    return round(start, 10), round(end, 10), step


def forest(results: Sequence[tuple[str, Comparison | PrePost]], title: str = "") -> Forest:
    """Return the forest of several outcomes' results (all two-arm comparisons, or all one-group changes)."""
    if not results:
        raise TrialError("a forest chart needs at least one outcome")
    kinds = {type(r) for _, r in results}
    if len(kinds) > 1:
        raise TrialError("a forest chart shows either between-arm differences or one group's changes, not both")
    rows: list[ForestRow] = []
    first = results[0][1]
    if isinstance(first, Comparison):
        one, two = first.arms[0].arm, first.arms[1].arm
        measure = (f"Baseline-adjusted difference, {one} minus {two} (ANCOVA: follow-up on arm and baseline), "
                   "with its 95% CI; complete cases")
        for outcome, result in results:
            assert isinstance(result, Comparison)
            rows.append(ForestRow(outcome, result.adjusted_difference,
                                  f"{result.arms[0].n_both} + {result.arms[1].n_both}"))
    else:
        methods = sorted({r.method for _, r in results if isinstance(r, PrePost)})
        measure = (f"Mean change, follow-up minus baseline ({' / '.join(methods)}), with its 95% CI: one group, "
                   "no between-arm difference")
        for outcome, result in results:
            assert isinstance(result, PrePost)
            s = result.summary
            rows.append(ForestRow(outcome, s.change,
                                  str(s.n_both) if result.method == "paired" else f"{s.n_baseline} / {s.n_follow_up}"))
    return Forest(title or ("Difference between arms by outcome" if isinstance(first, Comparison)
                            else "Change between waves by outcome"), measure, tuple(rows))
