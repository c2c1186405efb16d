"""Print-ready sheets: fit to the page width, landscape where wide, header rows repeated on every page.

A spreadsheet printed as it comes splits a wide table over pages (row labels on one, numbers on the next;
the issue counted 42 pages for one survey). Fitting to one page *wide* and any number *tall* keeps each
row on one page; a sheet wider than a portrait page turns landscape so the scaling stays readable.
Write-only sheets write their properties with the first row, so :func:`print_ready` is called before any
row is appended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties

PORTRAIT_WIDTH = 95  # column-width units that fit a portrait A4/Letter page at about 100%
ROWS_PER_PAGE = 32  # default-height rows on a landscape page at 100% (scaling to fit only adds room)


def print_ready(ws: Any, widths: Sequence[float], *, title_rows: str | None = None,
                title_cols: str | None = None) -> None:
    """Set *ws* to print one page wide (landscape when *widths* add up to more than a portrait page)."""
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed
    ws.page_setup.orientation = "landscape" if sum(widths) > PORTRAIT_WIDTH else "portrait"
    ws.print_options.horizontalCentered = False
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols


def page_break_after(ws: Any, row: int) -> None:
    """Start a new printed page after *row*."""
    ws.row_breaks.append(Break(id=row))
