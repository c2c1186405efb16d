"""Charts that never misrepresent: native Excel bar charts over percentage cells computed from all answers.

A chart plots cells, so what a cell holds decides what a reader sees. Count cells may hold "<5" or "x"
when suppressed; Excel plots such text as nothing and a 100%-stacked bar then rescales what is left, so a
segment of 30.4% is drawn at 41.2%. Here a Likert bar is a plain *stacked* bar over percentage cells (of
all who answered, rounded as the tables round them), with one more segment, "Hidden", holding what the
suppressed cells add up to (that total is published anyway: n answered minus the shown counts). Every bar
therefore spans 100% of its n, and a hidden part stays on the chart as a hatched, labelled gap. A chart
whose every bar is hidden (a pilot with 5 answers) is replaced by a note. Month charts leave a hidden month
empty and say so in its label, so it never reads as a true zero.

Colours: Likert levels run from the most negative to the most positive, so they take a diverging scheme
(ColorBrewer's RdBu: red, a light neutral middle, blue). It is one of ColorBrewer's colour-blind-safe
schemes (red against blue stays apart for deuteranopes and protanopes, unlike Office's default
red/green-ish series), it prints in greyscale as a light-to-dark-to-light ramp, and the neutral level
sits in the middle of an odd scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.fill import PatternFillProperties
from openpyxl.drawing.line import LineProperties

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
CM_PER_BAR = 1.2


def diverging(n: int) -> tuple[str, ...]:
    """Return *n* colours from negative to positive (RdBu; a single level gets the neutral)."""
    if n <= 1:
        return ("F7F7F7",) * n
    if n in RDBU:
        return RDBU[n]
    ramp = RDBU[11]  # longer scales: spread the 11 colours over the levels
    return tuple(ramp[round(i * 10 / (n - 1))] for i in range(n))


def _solid(series: Any, colour: str) -> None:
    series.graphicalProperties = GraphicalProperties(solidFill=colour, ln=LineProperties(solidFill=OUTLINE,
                                                                                         w=6350))


def _hatched(series: Any) -> None:
    fill = PatternFillProperties(prst="wdUpDiag")
    fill.foreground = _colour("595959")
    fill.background = _colour("FFFFFF")
    series.graphicalProperties = GraphicalProperties(pattFill=fill, ln=LineProperties(solidFill=OUTLINE,
                                                                                      w=6350))


def _colour(hex_rgb: str) -> Any:
    from openpyxl.drawing.colors import ColorChoice

    return ColorChoice(srgbClr=hex_rgb)


def likert_chart(ws: Any, title: str, header_row: int, first_row: int, last_row: int, first_pct_col: int,
                 levels: int) -> BarChart:
    """Return a stacked bar chart of rows *first_row*..*last_row*: *levels* percentage columns from
    *first_pct_col* then the hidden-share column, categories (bar labels with n) in column A.

    Percentages are of all who answered (0-100), so the axis is fixed at 0-100 rather than rescaled.
    """
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.gapWidth = 60
    chart.title = title
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.y_axis.majorUnit = 25
    chart.y_axis.number_format = '0"%"'
    chart.y_axis.title = "% of those who answered"
    chart.y_axis.majorGridlines = None
    chart.x_axis.scaling.orientation = "maxMin"  # first statement on top, as in the table
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    data = Reference(ws, min_col=first_pct_col, max_col=first_pct_col + levels, min_row=header_row,
                     max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first_row, max_row=last_row))
    for series, colour in zip(chart.series, diverging(levels), strict=False):
        _solid(series, colour)
    _hatched(chart.series[levels])
    chart.width = 24
    chart.height = 4 + CM_PER_BAR * (last_row - first_row + 1)
    return chart


def shares(counts: Sequence[int], hidden: Sequence[bool], answered: int) -> tuple[list[float | None], float]:
    """Return each level's percentage of *answered* (None where hidden) and the hidden levels' share.

    The hidden share is 100 less the shown percentages, so a bar always spans 100%; it is 0 when nothing
    is hidden (the shown percentages then add up to 100 within rounding).
    """
    from .tabular.percent import percent

    if not answered:
        return [None] * len(counts), 0.0
    out = [None if h else percent(n, answered) for n, h in zip(counts, hidden, strict=True)]
    if not any(hidden):
        return out, 0.0
    return out, round(100 - sum(v for v in out if v is not None), 1)


def month_chart(ws: Any, title: str, first_row: int, last_row: int, value_col: int, label_col: int) -> BarChart:
    """Return a column chart of counts in *value_col* (empty where hidden) labelled by *label_col*."""
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.scaling.min = 0
    chart.display_blanks = "gap"
    chart.add_data(Reference(ws, min_col=value_col, min_row=first_row - 1, max_row=last_row), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=label_col, min_row=first_row, max_row=last_row))
    _solid(chart.series[0], RDBU[4][3])
    chart.width, chart.height = 26, 10
    return chart
