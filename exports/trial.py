"""A two-wave comparison, pure: per arm, change from baseline with its 95% CI; between arms, Welch and ANCOVA.

Input is one row per participant: arm, baseline score, follow-up score (either may be missing). The analysis is
complete-case (a participant counts in the comparison when both waves are scored; the table says so), and:

* per arm: n randomised, n at each wave, n with both, baseline and follow-up mean (SD) of those with both,
  mean change with its 95% CI (one-sample t on the changes), % change of the mean (follow-up mean over baseline
  mean, minus 1), attrition (randomised without both waves, n and % of randomised);
* between two arms (first minus second): difference in mean change with its 95% CI and p (Welch's t-test,
  unequal variances); baseline-adjusted difference from an ANCOVA (OLS: follow-up ~ arm + baseline) with its
  95% CI and p; effect size: Cohen's d of the changes (difference in mean change over the pooled SD of change).

Pre/post without arms (:func:`pre_post`) is the same table for one group: paired (one-sample t on the changes)
where waves are linked, unpaired (Welch, follow-up minus baseline) where they are not, and it says which.

SciPy and statsmodels do the statistics (no hand-written t distribution); they are imported inside the
functions, so nothing loads them until an analysis runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

COMPLETE_CASE = ("Complete-case analysis: participants scored at both waves; those missing either wave are "
                 "counted in attrition, not imputed.")


class TrialError(ValueError):
    """Data a comparison cannot be made on; the message says what is missing."""


@dataclass(frozen=True)
class Participant:
    """One participant: arm and the score at each wave (None when missing)."""

    arm: str
    baseline: float | None
    follow_up: float | None

    @property
    def complete(self) -> bool:
        """Say whether both waves are scored."""
        return self.baseline is not None and self.follow_up is not None


@dataclass(frozen=True)
class Estimate:
    """An estimate with its 95% confidence interval and, where a test gives one, its p-value."""

    value: float
    low: float
    high: float
    p: float | None = None

    def text(self, digits: int = 2) -> str:
        """Return "-0.79 (-1.27 to -0.32)"."""
        return f"{self.value:.{digits}f} ({self.low:.{digits}f} to {self.high:.{digits}f})"


@dataclass(frozen=True)
class ArmSummary:
    """One arm (or the one group of a pre/post)."""

    arm: str
    randomised: int
    n_baseline: int
    n_follow_up: int
    n_both: int
    baseline_mean: float
    baseline_sd: float
    follow_up_mean: float
    follow_up_sd: float
    change: Estimate
    percent_change: float | None  # of the mean; None when the baseline mean is 0

    @property
    def attrition(self) -> int:
        """Return how many of the arm are not in the comparison (a wave missing)."""
        return self.randomised - self.n_both


@dataclass(frozen=True)
class Comparison:
    """The two-arm comparison: per-arm summaries, Welch difference in change, ANCOVA, effect size."""

    arms: tuple[ArmSummary, ArmSummary]
    difference_in_change: Estimate  # first arm minus second (Welch)
    adjusted_difference: Estimate  # ANCOVA: follow-up ~ arm + baseline, coefficient of the first arm
    cohens_d: float
    note: str = COMPLETE_CASE


@dataclass(frozen=True)
class PrePost:
    """One group measured twice: the change, paired where linked, unpaired otherwise."""

    summary: ArmSummary
    method: str  # "paired" or "unpaired (Welch)"
    note: str


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    import numpy as np

    data = np.asarray(values, dtype=float)
    return float(data.mean()), float(data.std(ddof=1)) if len(data) > 1 else math.nan


def _one_sample(changes: Sequence[float]) -> Estimate:
    from scipy import stats

    if len(changes) < 2:
        raise TrialError(f"a 95% CI needs at least 2 participants with both waves; {len(changes)} here")
    if len(set(changes)) == 1:
        raise TrialError(f"all {len(changes)} changes are {changes[0]:g}: with no spread there is no confidence "
                         "interval")
    result = stats.ttest_1samp(changes, 0.0)
    ci = result.confidence_interval(0.95)
    return Estimate(float(sum(changes) / len(changes)), float(ci.low), float(ci.high), float(result.pvalue))


def _percent(before: float, after: float) -> float | None:
    return None if before == 0 else (after - before) / abs(before) * 100


def arm_summary(arm: str, rows: Sequence[Participant]) -> ArmSummary:
    """Return one arm's figures (complete cases for means and change)."""
    both = [p for p in rows if p.complete]
    if len(both) < 2:
        raise TrialError(f"arm '{arm}': {len(both)} participant(s) with both waves; at least 2 are needed")
    baseline = [float(p.baseline) for p in both if p.baseline is not None]
    follow_up = [float(p.follow_up) for p in both if p.follow_up is not None]
    b_mean, b_sd = _mean_sd(baseline)
    f_mean, f_sd = _mean_sd(follow_up)
    changes = [f - b for b, f in zip(baseline, follow_up, strict=True)]
    return ArmSummary(arm, len(rows), sum(1 for p in rows if p.baseline is not None),
                      sum(1 for p in rows if p.follow_up is not None), len(both), b_mean, b_sd, f_mean, f_sd,
                      _one_sample(changes), _percent(b_mean, f_mean))


def _by_arm(rows: Iterable[Participant], arms: Sequence[str] | None) -> dict[str, list[Participant]]:
    grouped: dict[str, list[Participant]] = {}
    for p in rows:
        grouped.setdefault(p.arm, []).append(p)
    order = list(arms) if arms is not None else sorted(grouped)
    if len(order) != 2:
        raise TrialError(f"a comparison needs exactly two arms; found {len(order)}: {', '.join(order) or 'none'}")
    for arm in order:
        if arm not in grouped:
            raise TrialError(f"no participant in arm '{arm}' (arms found: {', '.join(sorted(grouped))})")
    extra = set(grouped) - set(order)
    if extra:
        raise TrialError(f"participants in arm(s) {', '.join(sorted(extra))}, not among {', '.join(order)}")
    return {arm: grouped[arm] for arm in order}


def compare(rows: Iterable[Participant], arms: Sequence[str] | None = None) -> Comparison:
    """Compare two arms (*arms* gives the order: first minus second; default: alphabetical)."""
    import numpy as np
    import statsmodels.api as sm
    from scipy import stats

    grouped = _by_arm(rows, arms)
    (first, first_rows), (second, second_rows) = grouped.items()
    one, two = arm_summary(first, first_rows), arm_summary(second, second_rows)
    change = {arm: [float(p.follow_up) - float(p.baseline) for p in ps if p.follow_up is not None
                    and p.baseline is not None] for arm, ps in grouped.items()}
    welch = stats.ttest_ind(change[first], change[second], equal_var=False)
    ci = welch.confidence_interval(0.95)
    difference = Estimate(float(np.mean(change[first]) - np.mean(change[second])), float(ci.low), float(ci.high),
                          float(welch.pvalue))
    complete = [p for ps in grouped.values() for p in ps if p.complete]
    y = np.array([p.follow_up for p in complete], dtype=float)
    arm_column = np.array([1.0 if p.arm == first else 0.0 for p in complete])
    baseline_column = np.array([p.baseline for p in complete], dtype=float)
    design = np.column_stack([np.ones(len(complete)), arm_column, baseline_column])
    fit = sm.OLS(y, design).fit()
    low, high = fit.conf_int(0.05)[1]
    adjusted = Estimate(float(fit.params[1]), float(low), float(high), float(fit.pvalues[1]))
    n1, n2 = len(change[first]), len(change[second])
    pooled = math.sqrt(((n1 - 1) * np.var(change[first], ddof=1) + (n2 - 1) * np.var(change[second], ddof=1))
                       / (n1 + n2 - 2))
    d = difference.value / pooled if pooled > 0 else math.nan
    return Comparison((one, two), difference, adjusted, d)


def pre_post(linked: Iterable[tuple[float | None, float | None]] = (), baseline_only: Iterable[float] = (),
             follow_up_only: Iterable[float] = (), group: str = "All") -> PrePost:
    """Compare two waves of one group: paired on the linked pairs when there are any, else unpaired (Welch)."""
    from scipy import stats

    pairs = list(linked)
    rows = [Participant(group, b, f) for b, f in pairs]
    complete = [p for p in rows if p.complete]
    if len(complete) >= 2:
        summary = arm_summary(group, rows)  # a one-sample t on the changes is the paired t-test
        unlinked = len(list(baseline_only)) + len(list(follow_up_only))
        note = (f"Paired: {len(complete)} respondents linked across the waves; mean change with a one-sample t "
                f"95% CI. {len(rows) - len(complete) + unlinked} answers at one wave only are not in it.")
        return PrePost(summary, "paired", note)
    before = [b for b, _ in pairs if b is not None] + [float(v) for v in baseline_only]
    after = [f for _, f in pairs if f is not None] + [float(v) for v in follow_up_only]
    if len(before) < 2 or len(after) < 2:
        raise TrialError(f"an unpaired comparison needs at least 2 answers at each wave; {len(before)} at "
                         f"baseline, {len(after)} at follow-up")
    if len(set(before)) == 1 and len(set(after)) == 1:
        raise TrialError("every answer at each wave is the same: with no spread there is no confidence interval")
    b_mean, b_sd = _mean_sd(before)
    f_mean, f_sd = _mean_sd(after)
    welch = stats.ttest_ind(after, before, equal_var=False)
    ci = welch.confidence_interval(0.95)
    change = Estimate(f_mean - b_mean, float(ci.low), float(ci.high), float(welch.pvalue))
    summary = ArmSummary(group, max(len(before), len(after)), len(before), len(after), 0, b_mean, b_sd, f_mean,
                         f_sd, change, _percent(b_mean, f_mean))
    note = (f"Unpaired: the waves are not linked, so the change is the difference between the {len(after)} "
            f"follow-up and the {len(before)} baseline answers (Welch's t-test 95% CI); the respondents may "
            "differ between waves.")
    return PrePost(summary, "unpaired (Welch)", note)
