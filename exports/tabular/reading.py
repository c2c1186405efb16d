"""Read the rows of a CSV or XLSX file, from a path or from uploaded bytes, each with the line it starts on.

* CSV: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), or UTF-16 with its mark (Excel's
  "Unicode text"); delimiter ',', ';' or tab, whichever the header line holds most of. A row's line is
  the physical line it starts on, so a row after a multi-line answer gets the number an editor shows.
* XLSX (and .xlsm): the sheet asked for when the workbook has it, else the first; a row's line is its row
  number. Cells keep their types (numbers, dates); :func:`cell_text` turns one into the text a user sees.

Every problem is a :class:`~exports.tabular.errors.TableError` naming ``file:line``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from collections.abc import Generator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import IO, Any

from .errors import TableError

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t")
SNIFF_BYTES = 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
NOT_UTF8 = "not UTF-8 text; save the file as 'CSV UTF-8'"


@dataclass
class SheetRow:
    """One row of cells and the line it starts on."""

    line: int
    cells: list[Any]


def is_blank(cells: list[Any]) -> bool:
    """Say whether a row holds nothing but empty cells."""
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def cell_text(value: Any) -> str:
    """Return a cell as text: numbers without a spurious '.0', dates as YYYY-MM-DD, stripped."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class TableFile:
    """A CSV or XLSX file opened for reading: what it is, and its rows streamed afresh on each call."""

    def __init__(self, source: Path | bytes, name: str, kind: str, *, encoding: str = "", delimiter: str = ",",
                 sheet: str = "") -> None:
        self.source, self.name, self.kind = source, name, kind
        self.encoding, self.delimiter, self.sheet = encoding, delimiter, sheet

    def error(self, what: str, line: int | None = None, column: int | None = None,
              header: str | None = None) -> TableError:
        """Return the error for *what* at this file's *line* and *column* (0-based)."""
        return TableError(what, file=self.name, line=line, column=column, header=header)

    def header(self, cells: list[str], line: int, required: tuple[str, ...]) -> dict[str, int]:
        """Return each column's index by its lower-cased name; raise the error naming the *required* ones missing."""
        found = {c.lower(): i for i, c in enumerate(cells) if c}
        missing = [c for c in required if c not in found]
        if missing:
            names = " and ".join(f"'{c}'" for c in required)
            raise self.error(f"the first row must name the columns {names} (missing: {', '.join(missing)}; "
                             f"found: {', '.join(cells)})", line)
        return found

    def _binary(self) -> IO[bytes]:
        return io.BytesIO(self.source) if isinstance(self.source, bytes) else self.source.open("rb")

    def rows(self, skip: int = 0) -> Generator[SheetRow, None, None]:
        """Stream every row after the first *skip* (close the iterator when stopping early)."""
        return self._csv_rows(skip) if self.kind == "csv" else self._xlsx_rows(skip)

    def text_rows(self, skip: int = 0) -> Generator[tuple[int, list[str]], None, None]:
        """Stream (line, cell texts) for every row after the first *skip*, blank rows left out."""
        with contextlib.closing(self.rows(skip)) as rows:
            for row in rows:
                if not is_blank(row.cells):
                    yield row.line, [cell_text(c) for c in row.cells]

    def _csv_rows(self, skip: int) -> Generator[SheetRow, None, None]:
        with io.TextIOWrapper(self._binary(), encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            start, index = 1, 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError:
                    raise self.error(NOT_UTF8, reader.line_num + 1) from None
                except csv.Error as exc:
                    raise self.error(f"not a readable CSV row: {exc}", reader.line_num) from None
                if index >= skip:
                    yield SheetRow(start, cells)
                index += 1
                start = reader.line_num + 1

    def _xlsx_rows(self, skip: int) -> Generator[SheetRow, None, None]:
        book = self._workbook()
        try:
            for number, values in enumerate(book[self.sheet].iter_rows(min_row=skip + 1, values_only=True),
                                            start=skip + 1):
                yield SheetRow(number, list(values))
        finally:
            book.close()  # a read-only workbook keeps its file open until closed

    def _workbook(self) -> Any:
        from openpyxl import load_workbook  # only for workbooks: reading a CSV file needs no openpyxl

        try:
            # A path, not an open file: openpyxl closes only the files it opened itself.
            source = io.BytesIO(self.source) if isinstance(self.source, bytes) else self.source
            return load_workbook(source, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise self.error(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None

    def count_rows(self) -> int:
        """Return how many rows (XLSX) or lines (CSV) the file has, cheaply, for a progress bar."""
        if self.kind == "csv":
            with self._binary() as handle:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        book = self._workbook()
        try:
            return book[self.sheet].max_row or 0
        finally:
            book.close()


def open_table(source: str | PathLike[str] | bytes, name: str | None = None, *, sheet: str = "") -> TableFile:
    """Open a CSV or XLSX file (a path, or uploaded bytes called *name*); prefer the sheet called *sheet*."""
    if isinstance(source, bytes):
        data: Path | bytes = source
        name = name or "upload"
        suffix = Path(name).suffix.lower()
        if source[:4] == _ZIP_MAGIC and suffix not in XLSX_SUFFIXES:
            suffix = ".xlsx"  # a workbook uploaded under another name is still a workbook
        if suffix not in XLSX_SUFFIXES:
            suffix = ".csv"  # an upload's name is the browser's guess; read anything else as text
        head = source[:SNIFF_BYTES]
    else:
        data = Path(source)
        name = name or data.name
        suffix = data.suffix.lower()
        if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
            raise TableError(f"unknown file type '{suffix or '(none)'}'; use .csv or .xlsx", file=name)
        if not data.is_file():
            raise TableError("no such file", file=name)
        with data.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    if suffix in XLSX_SUFFIXES:
        table = TableFile(data, name, "xlsx")
        book = table._workbook()
        try:
            table.sheet = sheet if sheet in book.sheetnames else book.sheetnames[0]
        finally:
            book.close()
        return table
    encoding = "utf-16" if head[:2] in _UTF16_MARKS else "utf-8-sig"
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.end < len(head) or encoding != "utf-8-sig" or len(head) < SNIFF_BYTES:
            raise TableError(NOT_UTF8, file=name, line=head[:exc.start].count(b"\n") + 1) from None
        text = head[:exc.start].decode(encoding)  # the sample cut a character in two
    first_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    return TableFile(data, name, "csv", encoding=encoding, delimiter=delimiter)
