"""Safe xlsx cells (active-looking text kept as text, ``text.looks_active``), styled cells, valid sheet titles."""

from __future__ import annotations

import re
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .text import looks_active, xml_clean

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_LIMIT = 31  # characters Excel allows in a sheet title


def xlsx_text(ws: WriteOnlyWorksheet, text: str) -> Any:
    """Return what to append for *text* in a write-only sheet: the text, or a text cell when it looks active."""
    text = xml_clean(text)
    if looks_active(text):
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"  # openpyxl would store '=...' as a formula and '#N/A' as an error
        cell.quotePrefix = True
        return cell
    return text


def xlsx_value(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """Return what to append for any cell value: text made safe, other values as they are."""
    if isinstance(value, str):
        return xlsx_text(ws, value) if value else None
    return value


def styled(ws: WriteOnlyWorksheet, value: Any, font: Font | None = None,
           alignment: Alignment | None = None) -> Any:
    """Return a safe cell for *value* with *font* and *alignment* applied (the bare value when neither is given)."""
    safe = xlsx_value(ws, value)
    if font is None and alignment is None:
        return safe
    cell = safe if isinstance(safe, Cell) else WriteOnlyCell(ws, value=safe)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def sheet_title(wanted: str, taken: set[str]) -> str:
    """Return a valid sheet title not in *taken* (≤31 characters, none of []:*?/\\, not quoted); add it to *taken*.

    Excel compares titles without case, so *taken* holds them lower-cased.
    """
    base = _SHEET_BAD.sub(" ", wanted).strip().strip("'").strip()[:SHEET_TITLE_LIMIT] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:SHEET_TITLE_LIMIT - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name
