"""Charts that never misrepresent: native Excel bar charts over percentage cells computed from all answers.

A chart plots cells, so what a cell holds decides what a reader sees. Count cells may hold "<5" or "x"
when suppressed; Excel plots such text as nothing and a 100%-stacked bar then rescales what is left, so a
segment of 30.4% is drawn at 41.2%. Here a Likert bar is a plain *stacked* bar over percentage cells (of
all who answered, rounded as the tables round them), with one more segment, "Hidden", holding what the
suppressed cells add up to (that total is published anyway: n answered minus the shown counts). Every bar
therefore spans 100% of its n, and a hidden part stays on the chart as a hatched, labelled gap. A chart
whose every bar is hidden (a pilot with 5 answers) is replaced by a note. Month charts leave a hidden month
empty and say so in its label, so it never reads as a true zero. A forest plot (:func:`forest_chart`) reads
numeric cells only: the estimate, the row's position and the CI's two distances that Excel's custom error bars
take; the row's name and figures are a text cell used as the series' name, never as a value.

Colours and shares come from :mod:`exports.likertbars`, the one place the browser's SVG charts read them too.
"""

from __future__ import annotations

from typing import Any

from openpyxl.chart import BarChart, Reference, ScatterChart
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.fill import PatternFillProperties
from openpyxl.drawing.line import LineProperties

from .forest import INK as FOREST_INK
from .likertbars import OUTLINE, RDBU, diverging

CM_PER_BAR = 1.2


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


def forest_chart(ws: Any, title: str, measure: str, first_row: int, last_row: int, columns: dict[str, int],
                 zero_rows: tuple[int, int], axis: tuple[float, float, float]) -> ScatterChart:
    """Return a forest plot over the rows' cells: each estimate at its row's position, custom 95% CI error bars.

    *columns* names the numeric columns: ``estimate``, ``position`` (the row's height on the chart), ``below``
    and ``above`` (the CI's distances from the estimate, as Excel's custom error bars take them) and the text
    column ``label`` ("burnout: −0.79 (−1.27 to −0.32)"), shown above each point: Excel's scatter chart has no
    text axis, so the names and figures are labels. *zero_rows* hold the dashed line at 0.
    """
    from openpyxl.chart import Series
    from openpyxl.chart.data_source import NumDataSource, NumRef, StrRef
    from openpyxl.chart.error_bar import ErrorBars
    from openpyxl.chart.label import DataLabelList
    from openpyxl.chart.marker import Marker
    from openpyxl.chart.series import SeriesLabel

    def cells(column: int, first: int, last: int) -> str:
        return str(Reference(ws, min_col=column, min_row=first, max_row=last))

    chart = ScatterChart()
    chart.title = title
    chart.style = 1
    chart.legend = None
    for row in range(first_row, last_row + 1):
        series = Series(Reference(ws, min_col=columns["position"], min_row=row),
                        Reference(ws, min_col=columns["estimate"], min_row=row))
        series.tx = SeriesLabel(strRef=StrRef(cells(columns["label"], row, row)))
        series.marker = Marker(symbol="square", size=8)
        series.marker.graphicalProperties = GraphicalProperties(solidFill=FOREST_INK)
        series.graphicalProperties = GraphicalProperties(ln=LineProperties(noFill=True))
        series.errBars = ErrorBars(errDir="x", errBarType="both", errValType="cust", noEndCap=False,
                                   plus=NumDataSource(numRef=NumRef(f=cells(columns["above"], row, row))),
                                   minus=NumDataSource(numRef=NumRef(f=cells(columns["below"], row, row))),
                                   spPr=GraphicalProperties(ln=LineProperties(solidFill=FOREST_INK, w=19050)))
        series.dLbls = DataLabelList(showSerName=True, showVal=False, showLegendKey=False, showCatName=False,
                                     dLblPos="t")
        chart.series.append(series)
    zero = Series(Reference(ws, min_col=columns["position"], min_row=zero_rows[0], max_row=zero_rows[1]),
                  Reference(ws, min_col=columns["estimate"], min_row=zero_rows[0], max_row=zero_rows[1]))
    zero.tx = SeriesLabel(v="0")
    zero.marker = Marker(symbol="none")
    zero.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill="000000", prstDash="dash", w=9525))
    chart.series.append(zero)
    low, high, step = axis
    chart.x_axis.scaling.min, chart.x_axis.scaling.max, chart.x_axis.majorUnit = low, high, step
    chart.x_axis.title = measure
    chart.x_axis.delete = False
    chart.x_axis.majorGridlines = None
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, last_row - first_row + 2
    chart.y_axis.delete = True  # positions only: the labels say which outcome each row is
    chart.y_axis.majorGridlines = None
    chart.height = 3 + 1.6 * (last_row - first_row + 1)
    chart.width = 18
    return chart
