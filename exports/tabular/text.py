"""Text that a spreadsheet could run as a formula is written as text, in xlsx (see ``cells.py``) and in csv.

A cell starting with '=', '+', '-', '@', a tab or a carriage return is evaluated by Excel and LibreOffice
when it comes from a CSV file (LimeSurvey's CVE-2019-16184 was exactly this: answers exported as formulas), and
a cell holding just ``#N/A`` (or another error literal) becomes an error value. :func:`looks_active` is the one
rule for both file kinds.

* xlsx: such text is stored as a string cell with the "quote prefix" style, so it is shown as typed and
  stays text even when someone edits the cell. (openpyxl would otherwise store any '=...' as a formula.)
* csv: a CSV file has no cells, only text that the reader cuts. A reader set to ``;`` (most of Europe) cuts
  ``ok;=2*21`` into ``ok`` and ``=2*21``, and a reader that loses track of the quotes starts a row at each line
  break inside an answer (LibreOffice does, with ``;``). So the rule holds at every place where *some* reader
  may start a cell: the start of the field and right after every ``,`` ``;`` tab, line feed and carriage
  return in it (after any quotes there). There an active character gets an apostrophe before it (OWASP's
  advice: spreadsheets show it and never run it); an apostrophe there gets one more, so :func:`csv_unescape`
  undoes it exactly.

Characters XML 1.0 cannot hold (control characters other than tab, newline, carriage return) cannot be
stored in an xlsx file at all; they become U+FFFD there (the CSV keeps them).
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The texts a spreadsheet reads as error values (openpyxl's ERROR_CODES; kept here so csv needs no openpyxl).
ERROR_TEXTS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
_ACTIVE = "=+\\-@\t\r'"  # FORMULA_STARTS and the apostrophe that marks an escape, as a regex class
# The field's start, or right after a separator or line break, and any quotes there: Excel reads ``""=1`` cut out
# of a longer field as an empty quoted text followed by ``=1``, which it runs.
_CELL_START = r"(?:\A|(?<=[,;\t\n\r]))(\"*)"
_CSV_MARK = re.compile(_CELL_START + f"(?=[{_ACTIVE}])")
_CSV_UNMARK = re.compile(_CELL_START + f"'(?=[{_ACTIVE}])")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
EXCEL_CELL_LIMIT = 32_767  # characters an Excel cell holds


def looks_like_formula(text: str) -> bool:
    """Say whether a spreadsheet could run *text* as a formula."""
    return bool(text) and text[0] in FORMULA_STARTS


def looks_active(text: str) -> bool:
    """Say whether a spreadsheet would not show *text* as it is: a formula or an error literal."""
    return looks_like_formula(text) or text in ERROR_TEXTS


def csv_text(text: str) -> str:
    """Return *text* as it is safe to write in a CSV field, whatever separator the reader cuts at."""
    if text in ERROR_TEXTS:
        return "'" + text
    return _CSV_MARK.sub(r"\1'", text)


def csv_unescape(text: str) -> str:
    """Undo :func:`csv_text` on a cell read back from one of our CSV files."""
    if text[:1] == "'" and text[1:] in ERROR_TEXTS:
        return text[1:]
    return _CSV_UNMARK.sub(r"\1", text)


def xml_clean(text: str) -> str:
    """Replace the characters an xlsx file cannot hold with U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def fit_cell(text: str) -> str:
    """Cut *text* to what one Excel cell holds, ending it with an ellipsis when cut."""
    return text if len(text) <= EXCEL_CELL_LIMIT else text[:EXCEL_CELL_LIMIT - 1] + "\u2026"
