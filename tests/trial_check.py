"""Every figure of a two-arm comparison recomputed from the raw scores by other routes: numpy/pandas,
statsmodels' DescrStatsW and CompareMeans, the formula ANCOVA on a pandas frame, SciPy's t-tests."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from exports.trial import Comparison


def cross_check(result: Comparison, frame: Any, first: str = "coaching", second: str = "control"
                ) -> dict[str, np.ndarray]:
    """Assert *result* against *frame* (columns arm, baseline, follow_up; NaN when missing); return the changes."""
    import statsmodels.formula.api as smf
    from scipy import stats
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    complete = frame.dropna()
    changes = {}
    for summary in result.arms:
        arm = frame[frame.arm == summary.arm]
        both = complete[complete.arm == summary.arm]
        assert summary.randomised == len(arm)
        assert summary.n_baseline == arm.baseline.notna().sum()
        assert summary.n_follow_up == arm.follow_up.notna().sum()
        assert summary.n_both == len(both) and summary.attrition == len(arm) - len(both)
        assert summary.baseline_mean == pytest.approx(both.baseline.mean(), rel=1e-12)
        assert summary.baseline_sd == pytest.approx(both.baseline.std(ddof=1), rel=1e-12)
        assert summary.follow_up_mean == pytest.approx(both.follow_up.mean(), rel=1e-12)
        assert summary.follow_up_sd == pytest.approx(both.follow_up.std(ddof=1), rel=1e-12)
        change = (both.follow_up - both.baseline).to_numpy()
        changes[summary.arm] = change
        low, high = DescrStatsW(change).tconfint_mean(0.05)
        assert (summary.change.value, summary.change.low, summary.change.high, summary.change.p) == pytest.approx(
            (change.mean(), low, high, stats.ttest_1samp(change, 0).pvalue), rel=1e-10)
        assert summary.percent_change == pytest.approx(
            100 * (both.follow_up.mean() - both.baseline.mean()) / both.baseline.mean(), rel=1e-10)

    welch = CompareMeans(DescrStatsW(changes[first]), DescrStatsW(changes[second]))
    low, high = welch.tconfint_diff(0.05, usevar="unequal")
    _, p, _ = welch.ttest_ind(usevar="unequal")
    diff = result.difference_in_change
    assert (diff.value, diff.low, diff.high, diff.p) == pytest.approx(
        (changes[first].mean() - changes[second].mean(), low, high, p), rel=1e-9)
    # the scipy route to the Welch p agrees too
    assert diff.p == pytest.approx(stats.ttest_ind(changes[first], changes[second], equal_var=False).pvalue)

    fit = smf.ols(f"follow_up ~ C(arm, Treatment('{second}')) + baseline", data=complete).fit()
    term = f"C(arm, Treatment('{second}'))[T.{first}]"
    adjusted = result.adjusted_difference
    assert (adjusted.value, adjusted.low, adjusted.high, adjusted.p) == pytest.approx(
        (fit.params[term], *fit.conf_int().loc[term], fit.pvalues[term]), rel=1e-9)

    n1, n2 = len(changes[first]), len(changes[second])
    pooled = math.sqrt(((n1 - 1) * changes[first].var(ddof=1) + (n2 - 1) * changes[second].var(ddof=1))
                       / (n1 + n2 - 2))
    assert result.cohens_d == pytest.approx(diff.value / pooled, rel=1e-12)
    return changes
