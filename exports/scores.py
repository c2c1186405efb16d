"""Scored scales as manuscript tables: n scored / n missing, mean (SD), median, quartiles, cut-off n (%)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from .stats import CrossTab, Descriptives, ScoreSummary
from .suppress import Suppression, hidden_cells
from .tables import Table, _group_label, count_cells
from .tabular.percent import n_pct


def mean_sd(mean: float, sd: float) -> str:
    """Return "2.13 (0.81)": a mean and its SD to two decimals (SD "-" for a single value)."""
    return f"{mean:.2f} ({'-' if sd != sd else f'{sd:.2f}'})"


def score_table(s: ScoreSummary, rule: Suppression) -> Table:
    """Return one score's table; statistics hidden below the small-cell rule, cut-off counts suppressed."""
    score = s.score
    scored = len(s.values)
    low, high = score.range
    note = (f"{score.describe()}. Scored for {scored} of {s.respondents} respondents; not scored (too many items "
            f"missing): {s.missing}. Cut-off percentages of the {scored} scored.")
    table = Table(score.id, f"{score.id}: {score.label} (score, {low:g} to {high:g})", note,
                  ["Statistic", "Value", "%", "n (%)"])
    # As in the number tables, the no-answer count stays visible (number_table's note states it too); only the
    # statistics of fewer than k scores are hidden.
    if rule.hides(scored):
        table.rows = [["n scored", rule.mark, None, None], ["n missing", s.missing, None, None]]
        table.note = f"{score.describe()}. Fewer than {rule.k} scored: statistics not shown."
        return table
    table.rows = [["n scored", scored, None, None], ["n missing", s.missing, None, None]]
    stats = s.describe()
    if stats is not None:
        table.rows.append(["Mean (SD)", round(stats["mean"], 2), None, mean_sd(stats["mean"], stats["sd"])])
        table.rows.append(["SD", None if stats["sd"] != stats["sd"] else round(stats["sd"], 2), None, None])
        for key, label in (("median", "Median"), ("q1", "Lower quartile (Q1)"), ("q3", "Upper quartile (Q3)"),
                           ("min", "Minimum"), ("max", "Maximum")):
            table.rows.append([label, round(stats[key], 2), None, None])
    met = s.meeting()
    for cut, n in zip(score.cutoffs, met, strict=True):
        # Each cut-off splits the scored into met / not met: both cells on one line, so one small cell hides both.
        split: dict[Hashable, int] = {"met": n, "not": scored - n}
        cells: list[Any] = count_cells(n, scored, "met" in hidden_cells(split, [(scored, ["met", "not"])], rule),
                                       rule)
        table.rows.append([cut.describe(), *cells])
    return table


def _group_row(label: str, s: ScoreSummary, rule: Suppression) -> list[Any]:
    scored = len(s.values)
    if rule.hides(scored):
        return [label, rule.mark, s.missing, None, None, *[None for _ in s.score.cutoffs]]
    stats = s.describe()
    row: list[Any] = [label, scored, s.missing]
    row += [None, None] if stats is None else [mean_sd(stats["mean"], stats["sd"]), round(stats["median"], 2)]
    for n in s.meeting():
        split: dict[Hashable, int] = {"met": n, "not": scored - n}
        hidden = "met" in hidden_cells(split, [(scored, ["met", "not"])], rule)
        row.append(rule.mark_for(n) if hidden else n_pct(n, scored))
    return row


def score_by_group_table(index: int, crosstab: CrossTab, total: Descriptives, rule: Suppression) -> Table:
    """Return the *index*-th score compared across a cross-tabulation's groups, with the total last."""
    overall = total.scores[index]
    score = overall.score
    table = Table(score.id, f"{score.id}: {score.label} (score) by {crosstab.by.id}",
                  f"{score.describe()}. Per group: n scored, n missing, mean (SD), median, and each cut-off as n (% "
                  "of those scored)" + (f"; statistics of fewer than {rule.k} scores are not shown." if rule.enabled
                                        else "."),
                  ["Group", "n scored", "n missing", "Mean (SD)", "Median", *[c.describe() for c in score.cutoffs]])
    for code in crosstab.group_codes():
        table.rows.append(_group_row(_group_label(crosstab.by, code), crosstab.groups[code].scores[index], rule))
    table.rows.append(_group_row("Total", overall, rule))
    return table
