"""The trial's comparison in and out of files: participants read from a table, the comparison as a manuscript
table and a workbook (the figures come from :mod:`exports.trial`): a Summary sheet of every outcome's plotted
estimate with the native forest chart over it (:mod:`exports.forest`), then a block per outcome."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .forest import Forest
from .scores import mean_sd
from .tables import Table
from .tabular.errors import TableError
from .tabular.percent import n_pct, percent
from .tabular.reading import TableFile, open_table
from .trial import Comparison, Participant, PrePost


def _number(table: TableFile, cells: list[str], index: int, line: int, name: str) -> float | None:
    text = cells[index].strip() if index < len(cells) else ""
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise table.error(f"'{text}' is not a number", line, index, name) from None
    if not math.isfinite(number):
        raise table.error(f"'{text}' is not a number", line, index, name)
    return number


def _header(table: TableFile, line: int, cells: list[str], wanted: Sequence[str | None]) -> dict[str, int]:
    """Return column name -> index of a header row; fail naming every wanted column it lacks."""
    header = {c: i for i, c in enumerate(cells) if c}
    missing = [c for c in wanted if c is not None and c not in header]
    if missing:
        raise table.error(f"no column {', '.join(repr(m) for m in missing)} in the header "
                          f"(found: {', '.join(cells)})", line)
    return header


def read_participants(path: str | os.PathLike[str], baseline: str, follow_up: str, arm: str | None = None
                      ) -> list[Participant]:
    """Read one row per participant (CSV or XLSX, a header row naming the columns); fail naming file:line, column."""
    table = open_table(path)
    header: dict[str, int] | None = None
    found: list[Participant] = []
    for line, cells in table.text_rows():
        if header is None:
            header = _header(table, line, cells, (arm, baseline, follow_up))
            continue
        group = "All"
        if arm is not None:
            index = header[arm]
            group = cells[index].strip() if index < len(cells) else ""
            if not group:
                raise table.error("no arm given", line, index, arm)
        found.append(Participant(group, _number(table, cells, header[baseline], line, baseline),
                                 _number(table, cells, header[follow_up], line, follow_up)))
    if header is None or not found:
        raise TableError("no participants: the file needs a header row and one row per participant", file=str(path))
    return found


@dataclass(frozen=True)
class WaveRow:
    """One response of one wave's file: where it is, whose it is (when linked), its arm and its score."""

    where: str
    id: str
    arm: str
    value: float | None


def _cell(cells: list[str], header: dict[str, int], name: str | None) -> str:
    index = header[name] if name is not None else len(cells)
    return cells[index].strip() if index < len(cells) else ""


def read_wave(path: str | os.PathLike[str], outcome: str, id_column: str | None = None,
              arm_column: str | None = None) -> list[WaveRow]:
    """Read one wave's export (a score column, and an id and arm column when linked); fail naming file:line."""
    table = open_table(path)
    header: dict[str, int] | None = None
    found: list[WaveRow] = []
    seen: dict[str, int] = {}
    for line, cells in table.text_rows():
        if header is None:
            header = _header(table, line, cells, (outcome, id_column, arm_column))
            continue
        key = _cell(cells, header, id_column)
        if id_column is not None:
            if not key:
                raise table.error("no id given", line, header[id_column], id_column)
            if key in seen:
                raise table.error(f"id '{key}' is also on line {seen[key]}: one response per participant and wave",
                                  line, header[id_column], id_column)
            seen[key] = line
        found.append(WaveRow(f"{table.name}:{line}", key, _cell(cells, header, arm_column) or "All",
                             _number(table, cells, header[outcome], line, outcome)))
    if header is None:
        raise TableError("the file is empty: it needs a header row", file=str(path))
    return found


def link_waves(baseline: Sequence[WaveRow], follow_up: Sequence[WaveRow]) -> list[Participant]:
    """Return one participant per id found at either wave; an arm given differently at the two waves is an error."""
    later = {row.id: row for row in follow_up}
    found = []
    for row in baseline:
        other = later.pop(row.id, None)
        if other is not None and other.arm != row.arm:
            raise TableError(f"id '{row.id}' is in arm '{row.arm}' at baseline ({row.where}) and '{other.arm}' at "
                             f"follow-up ({other.where})")
        found.append(Participant(row.arm, row.value, other.value if other is not None else None))
    found += [Participant(row.arm, None, row.value) for row in later.values()]
    return found


def p_text(p: float | None) -> str:
    """Return a p-value as a manuscript writes it: "<0.001", else three decimals."""
    if p is None or p != p:
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _pct(before: float, after: float) -> str:
    """Return the change of a mean in % of the baseline mean, half up to 0.1 like every percentage."""
    share = percent(after - before, abs(before))
    return "not defined (baseline mean 0)" if share is None else f"{share:+.1f}%"


def comparison_table(result: Comparison, outcome: str) -> Table:
    """Return the two-arm table: per-arm figures, then the differences with their 95% CI and p."""
    one, two = result.arms
    diff, adjusted = result.difference_in_change, result.adjusted_difference
    note = (f"{result.note} Mean change: one-sample t 95% CI. Difference in change ({one.arm} minus {two.arm}): "
            "Welch's t-test. Baseline-adjusted difference: ANCOVA, OLS of follow-up on arm and baseline. "
            "Effect size: Cohen's d, the difference in mean change over the pooled SD of change.")
    table = Table(outcome, f"{outcome}: change from baseline by arm", note,
                  ["", one.arm, two.arm, "Difference (95% CI)", "p"])
    rows: list[list[Any]] = [
        ["Randomised, n", one.randomised, two.randomised, None, None],
        ["Scored at baseline, n", one.n_baseline, two.n_baseline, None, None],
        ["Scored at follow-up, n", one.n_follow_up, two.n_follow_up, None, None],
        ["Both waves (analysed), n", one.n_both, two.n_both, None, None],
        ["Attrition, n (%)", n_pct(one.attrition, one.randomised), n_pct(two.attrition, two.randomised), None, None],
        ["Baseline, mean (SD)", mean_sd(one.baseline_mean, one.baseline_sd),
         mean_sd(two.baseline_mean, two.baseline_sd), None, None],
        ["Follow-up, mean (SD)", mean_sd(one.follow_up_mean, one.follow_up_sd),
         mean_sd(two.follow_up_mean, two.follow_up_sd), None, None],
        ["Mean change (95% CI)", one.change.text(), two.change.text(), diff.text(), p_text(diff.p)],
        ["Change of the mean, %", _pct(one.baseline_mean, one.follow_up_mean),
         _pct(two.baseline_mean, two.follow_up_mean), None, None],
        ["Baseline-adjusted difference (ANCOVA)", None, None, adjusted.text(), p_text(adjusted.p)],
        ["Effect size (Cohen's d of change)", None, None, None if result.cohens_d != result.cohens_d
         else round(result.cohens_d, 2), None],
    ]
    table.rows = rows
    return table


def pre_post_table(result: PrePost, outcome: str) -> Table:
    """Return the one-group table: n at each wave, means, the change with its CI and p, saying how it was made."""
    s = result.summary
    table = Table(outcome, f"{outcome}: change between waves ({result.method})", result.note,
                  ["", s.arm, "p"])
    table.rows = [
        ["Scored at baseline, n", s.n_baseline, None],
        ["Scored at follow-up, n", s.n_follow_up, None],
        ["Linked at both waves, n", s.n_both, None],
        ["Baseline, mean (SD)", mean_sd(s.baseline_mean, s.baseline_sd), None],
        ["Follow-up, mean (SD)", mean_sd(s.follow_up_mean, s.follow_up_sd), None],
        [f"Mean change (95% CI), {result.method}", s.change.text(), p_text(s.change.p)],
        ["Change of the mean, %", _pct(s.baseline_mean, s.follow_up_mean), None],
    ]
    return table


SUMMARY_HEADER = ["Outcome", "Estimate", "95% CI low", "95% CI high", "p", "n analysed", "Estimate (95% CI)",
                  "Position on the chart", "CI below (estimate - low)", "CI above (high - estimate)", "Chart label"]
CHART_COLUMNS = {"estimate": 2, "position": 8, "below": 9, "above": 10, "label": 11}


def summary_rows(chart: Forest) -> list[list[Any]]:
    """Return the Summary sheet's rows: one per outcome, every number the chart reads in its own cell."""
    k = len(chart.rows)
    return [[r.outcome, r.estimate.value, r.estimate.low, r.estimate.high, p_text(r.estimate.p), r.n, r.figures,
             k - i, r.estimate.value - r.estimate.low, r.estimate.high - r.estimate.value,
             f"{r.outcome}: {r.figures}"] for i, r in enumerate(chart.rows)]


def _summary_sheet(wb: Any, title: str, chart: Forest) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from .charts import forest_chart
    from .tabular.cells import styled, xlsx_value

    ws = wb.create_sheet("Summary")
    for width, letter in zip((30, 10, 10, 10, 8, 12, 26, 10, 12, 12, 40), "ABCDEFGHIJK", strict=True):
        ws.column_dimensions[letter].width = width
    ws.append([styled(ws, title, Font(bold=True, size=13))])
    ws.append([styled(ws, f"{chart.title}. Plotted: {chart.measure}.", Font(italic=True))])
    ws.append([styled(ws, "The chart reads columns B and H to J; the names and figures are its point labels.",
                      Font(italic=True))])
    ws.append([styled(ws, h, Font(bold=True)) for h in SUMMARY_HEADER])
    first = 5
    for row in summary_rows(chart):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=xlsx_value(ws, value)) if isinstance(value, float) else xlsx_value(ws, value)
            if isinstance(value, float):
                cell.number_format = "0.00"
            cells.append(cell)
        ws.append(cells)
    last = first + len(chart.rows) - 1
    ws.append([])
    zero = (last + 2, last + 3)
    for position in (0.5, len(chart.rows) + 0.5):  # the line of no difference, from bottom to top
        ws.append(["Line at 0 (chart)", 0.0, None, None, None, None, None, position])
    ws.add_chart(forest_chart(ws, chart.title, chart.measure, first, last, CHART_COLUMNS, zero, chart.axis()),
                 f"A{zero[1] + 2}")


def write_comparison_workbook(path: str | os.PathLike[str], tables: Sequence[Table], title: str,
                              chart: Forest | None = None) -> None:
    """Write the comparison tables to an .xlsx workbook at *path* (atomically): a Summary sheet with the forest
    chart when *chart* is given, then one sheet with a block per outcome."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .tabular.cells import styled, xlsx_value
    from .tabular.saving import discard, save_atomically

    wb = Workbook(write_only=True)
    try:
        if chart is not None:
            _summary_sheet(wb, title, chart)
        ws = wb.create_sheet("Comparison")
        for width, letter in zip((44, 26, 26, 26, 10), "ABCDE", strict=True):
            ws.column_dimensions[letter].width = width
        ws.append([styled(ws, title, Font(bold=True, size=13))])
        for table in tables:
            ws.append([])
            ws.append([styled(ws, table.title, Font(bold=True))])
            ws.append([styled(ws, table.note, Font(italic=True))])
            ws.append([styled(ws, h, Font(bold=True)) for h in table.header])
            for row in table.rows:
                ws.append([xlsx_value(ws, v) for v in row])
    except BaseException:
        discard(wb)
        raise
    save_atomically(wb, path)
