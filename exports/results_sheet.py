"""The "Results" sheet: a report file's figures, tables and charts, each figure in named cells with its sentence.

Every figure is one row: a sentence ready to paste, n, the denominator and the % (and, where some of the
denominator left the question empty, the same of those who answered), so a paper's number is read from a
cell named for it (``aware_n``, ``aware_pct``, ...; the workbook's defined names), never worked out by hand.
Tables (Table 1) and charts (Figs 3 and 4) follow, each range named by its id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from .charts import likert_chart
from .likertbars import shares
from .results import Results
from .suppress import Suppression

BOLD = Font(bold=True)
ITALIC = Font(italic=True, color="555555")
TITLE = Font(bold=True, size=13)
WIDTHS = (24, 70, 9, 13, 9, 13, 11, 40)
ROW_CM = 0.53
# The figure's columns and the names their cells get: <figure id>_<suffix>.
FIGURE_COLUMNS = (("sentence", 2), ("n", 3), ("base", 4), ("pct", 5), ("answered", 6), ("pct_answered", 7))


class RowSheet(Protocol):
    """The write-only sheet of :mod:`exports.workbook` (its current row, append, blank)."""

    ws: Any
    title: str
    row: int

    def append(self, values: Sequence[Any], font: Font | None = None, wrap: bool = False) -> int: ...

    def blank(self, n: int = 1) -> None: ...


def _ref(sheet: RowSheet, col1: int, row1: int, col2: int | None = None, row2: int | None = None) -> str:
    title = sheet.title.replace("'", "''")
    first = f"${get_column_letter(col1)}${row1}"
    if col2 is None or row2 is None:
        return f"'{title}'!{first}"
    return f"'{title}'!{first}:${get_column_letter(col2)}${row2}"


def _name(wb: Any, name: str, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def write_results(wb: Any, sheet: RowSheet, results: Results, rule: Suppression) -> list[str]:
    """Write *results* on *sheet* and name its cells in *wb*; return the names given."""
    names: list[str] = []
    sheet.append([f"Results declared in {results.report.source.rsplit('/', 1)[-1]}"], TITLE)
    sheet.append(["Each figure is n of its denominator; where some of that denominator left the question empty, "
                  "it is given of those who answered too (columns F and G), and column H says which is which. "
                  "Cells are named <figure id>_n, _base, _pct, _answered, _pct_answered, _sentence."], ITALIC)
    if rule.enabled:
        sheet.append([f"Small-cell suppression {rule.describe()}"], ITALIC)
    sheet.blank()
    if results.figures:
        sheet.append(["Figure", "Sentence ready to paste", "n", "Denominator", "%", "Of those who answered",
                      "% of those who answered", "Which denominator"], BOLD, wrap=True)
        for fig in results.figures:
            row = sheet.append([fig.figure.id, fig.sentence, fig.n, fig.base, fig.pct, fig.answered,
                                fig.pct_answered, fig.which], wrap=False)
            for suffix, col in FIGURE_COLUMNS:
                name = f"{fig.figure.id}_{suffix}"
                _name(wb, name, _ref(sheet, col, row))
                names.append(name)
        sheet.blank()
    for table in results.tables:
        sheet.append([table.table.title], TITLE)
        sheet.append([table.note], ITALIC)
        first = sheet.append(table.header, BOLD, wrap=True)
        for cells in table.rows:
            sheet.append(cells)
        _name(wb, table.table.id, _ref(sheet, 1, first, len(table.header), sheet.row))
        names.append(table.table.id)
        sheet.blank()
    for chart in results.charts:
        names.append(_chart(sheet, chart, wb))
    return names


def _chart(sheet: RowSheet, chart: Any, wb: Any) -> str:
    """Write a chart's table in the Likert sheet's layout (counts, n answered, %, % hidden), the chart under it."""
    levels = chart.chart.levels
    sheet.append([chart.chart.title], TITLE)
    header = sheet.append(["Statement (n answered)", *chart.legend, "n answered",
                           *[f"% {label}" for label in chart.legend], "% hidden", "Scale"], BOLD, wrap=True)
    for question, text, answered, counts in chart.bars:
        pcts, hidden_share = shares(counts, [False] * levels, answered)
        scale = " / ".join(o.label for o in question.choices)
        sheet.append([f"{text} (n = {answered})", *counts, answered, *pcts, hidden_share, scale])
    last = sheet.row
    sheet.append(["Each bar is 100% of its n (those who answered the question); levels line up by position, "
                  "most negative first."], ITALIC)
    _name(wb, chart.chart.id, _ref(sheet, 1, header, 2 * levels + 4, last))
    if any(answered for _q, _t, answered, _c in chart.bars):
        drawn = likert_chart(sheet.ws, chart.chart.title, header, header + 1, last, levels + 3, levels)
        sheet.ws.add_chart(drawn, f"A{sheet.row + 2}")
        sheet.blank(math.ceil(drawn.height / ROW_CM) + 3)
    else:
        sheet.append(["No chart: nobody answered these questions."], ITALIC)
    sheet.blank()
    return str(chart.chart.id)
