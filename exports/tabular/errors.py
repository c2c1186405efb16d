"""The one error for a table file that cannot be read, and the one way to say where: ``file:line, column X``.

X is the column letter, the header following in brackets when known: ``roster.csv:4, column B ('email')``.
The letter always exists (a header may be empty or repeated) and is what Excel and LibreOffice show; the
header says what the column is. A line is the line the row starts on: the physical line of a CSV file (as
an editor and ``grep -n`` number it, so a row after a multi-line answer keeps the number the editor shows)
and the row number of an XLSX sheet.
"""

from __future__ import annotations

from os import PathLike
from pathlib import PurePath


def column_letter(index: int) -> str:
    """Return the letter of column *index* (0-based): A, ..., Z, AA, ...."""
    # openpyxl.utils.get_column_letter does this too, but importing openpyxl would load it into every
    # process that only reads a CSV file or reports an error.
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_name(column: int, header: str | None = None) -> str:
    """Return "column B ('header')" for column *column* (0-based), or "column B" without a header."""
    return f"column {column_letter(column)} ('{header}')" if header else f"column {column_letter(column)}"


def place(file: str | PathLike[str], line: int | None = None, column: int | None = None,
          header: str | None = None) -> str:
    """Return where a cell is: 'file', 'file:line' or 'file:line, column B ('header')' (*column* 0-based)."""
    where = PurePath(file).name or str(file)
    if line is not None:
        where += f":{line}"
    return where if column is None else f"{where}, {column_name(column, header)}"


class TableError(ValueError):
    """A CSV/XLSX file that cannot be read or holds a bad row; the message reads ``file:line, column X: what``.

    Raised with only a message when the caller has already written where (a mapping file's YAML line).
    """

    def __init__(self, what: str, *, file: str | PathLike[str] | None = None, line: int | None = None,
                 column: int | None = None, header: str | None = None) -> None:
        self.what = what
        self.file = None if file is None else PurePath(file).name
        self.line = line
        self.column = column
        self.header = header
        super().__init__(what if file is None else f"{place(file, line, column, header)}: {what}")
