"""Text that a spreadsheet could run as a formula is written as text, in xlsx (see ``cells.py``) and in csv.

A cell starting with '=', '+', '-', '@', a tab or a carriage return is evaluated by Excel and LibreOffice
when it comes from a CSV file (LimeSurvey's CVE-2019-16184 was exactly this: answers exported as formulas).

* xlsx: such text is stored as a string cell with the "quote prefix" style, so it is shown as typed and
  stays text even when someone edits the cell. (openpyxl would otherwise store any '=...' as a formula.)
* csv: such text gets a leading apostrophe (OWASP's advice), which spreadsheets show and never run;
  a text that itself starts with an apostrophe gets one more, so :func:`csv_unescape` can undo it exactly.

Characters XML 1.0 cannot hold (control characters other than tab, newline, carriage return) cannot be
stored in an xlsx file at all; they become U+FFFD there (the CSV keeps them).
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CSV_ESCAPED = frozenset(FORMULA_STARTS) | {"'"}
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
EXCEL_CELL_LIMIT = 32_767  # characters an Excel cell holds


def looks_like_formula(text: str) -> bool:
    """Say whether a spreadsheet could run *text* as a formula."""
    return bool(text) and text[0] in FORMULA_STARTS


def csv_text(text: str) -> str:
    """Return *text* as it is safe to write in a CSV cell."""
    if text and text[0] in _CSV_ESCAPED:
        return "'" + text
    return text


def csv_unescape(text: str) -> str:
    """Undo :func:`csv_text` on a cell read back from one of our CSV files."""
    if len(text) >= 2 and text[0] == "'" and text[1] in _CSV_ESCAPED:
        return text[1:]
    return text


def xml_clean(text: str) -> str:
    """Replace the characters an xlsx file cannot hold with U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def fit_cell(text: str) -> str:
    """Cut *text* to what one Excel cell holds, ending it with an ellipsis when cut."""
    return text if len(text) <= EXCEL_CELL_LIMIT else text[:EXCEL_CELL_LIMIT - 1] + "\u2026"
