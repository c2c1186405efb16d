"""The one way we write CSV: every field quoted, every text formula-safe, numbers written as numbers.

Every field is quoted (``QUOTE_ALL``), so a ``,``, ``;``, quote or line break inside an answer never ends a
field for a reader that follows the quotes, and every line starts with a quote (a line starting with a bare
number made LibreOffice, set to ``;``, lose track of the quotes for the rest of it). Text goes through
:func:`exports.tabular.text.csv_text`, which guards every place a reader that does *not* follow the quotes
could start a cell.

Numbers: a number is written only from a numeric value (a number question's answer, a 0/1 flag, a level, a
count), never from text, and is never escaped: ``-3`` is written ``"-3"``, which LibreOffice and Excel read as
the number -3 (their "quoted field as text" is off unless a user turns it on). A text answer that reads
``-3`` is text and gets its apostrophe. So a negative number stays a number and cannot carry a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from .saving import replacing
from .text import csv_text


def csv_cell(value: Any) -> Any:
    """Return what to write for *value*: "" for None, 0/1 for a flag, a number as it is, anything else as safe text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return csv_text(str(value))


class CsvWriter:
    """Rows into an open text file (opened with ``newline=""``), each field made safe by :func:`csv_cell`."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self._writer.writerow([csv_cell(value) for value in row])


def write_rows(path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header and *rows* to a CSV file at *path* (atomically, UTF-8 with a mark for Excel); return the rows."""
    count = 0
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as out:
        writer = CsvWriter(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
