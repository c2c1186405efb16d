"""Read answer files exported elsewhere (Microsoft Forms, Qualtrics) or by us, keeping where each cell is.

A file is read into a :class:`Tabular`: its column headers, the question texts when the file carries them
(Qualtrics' second header row), and its data rows, each with the line (CSV: physical line, so a row after a
multi-line answer still gets the number an editor shows) or row number (XLSX) it starts on.

* CSV: UTF-8 (with or without BOM), delimiter ',' ';' or tab (detected from the header line).
  Cells written by our CSV export are un-escaped (a leading apostrophe that protected a formula-looking text).
* XLSX: the sheet called "Raw data" (our workbook) if there is one, else the first sheet.
* Qualtrics: three header rows (names, question texts, ``{"ImportId": ...}``); data from line 4.
* Microsoft Forms: recognized by its "ID", "Start time", "Completion time" columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .safe import csv_unescape

FORMS_MARKERS = {"id", "start time", "completion time"}
SNIFF_BYTES = 64 * 1024


class InvalidImport(ValueError):
    """An answer file that cannot be imported; the message says where (file:line, column) and what."""


@dataclass
class SourceRow:
    """One data row and the line it starts on."""

    line: int
    cells: list[Any]


@dataclass
class Tabular:
    """A file of answers: headers, optional question texts, and a way to stream its rows."""

    path: Path
    kind: str  # csv or xlsx
    flavour: str  # qualtrics, forms or plain
    headers: list[str]
    texts: list[str] = field(default_factory=list)
    first_data_line: int = 2
    sheet: str = ""
    _rows: Any = None

    def rows(self) -> Iterator[SourceRow]:
        """Stream the data rows (blank rows skipped)."""
        for row in self._rows():
            if any(c is not None and c != "" for c in row.cells):
                yield row

    def column(self, index: int) -> str:
        """Return how to name column *index* (0-based) in a message: its letter and header."""
        header = self.headers[index] if index < len(self.headers) else ""
        return f"column {get_column_letter(index + 1)} ('{header}')"

    def where(self, line: int | None, index: int | None = None) -> str:
        """Return "file:line" (CSV) or "file: sheet S, row N" (XLSX), with the column when given."""
        if line is None:
            place = f"{self.path.name}"
        elif self.kind == "csv":
            place = f"{self.path.name}:{line}"
        else:
            place = f"{self.path.name}: sheet '{self.sheet}', row {line}"
        return place if index is None else f"{place}, {self.column(index)}"

    def estimate_rows(self) -> int:
        """Return about how many data rows there are (for a progress bar)."""
        if self.kind == "csv":
            with self.path.open("rb") as handle:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
            return max(lines - self.first_data_line + 2, 0)
        workbook = load_workbook(self.path, read_only=True, data_only=True)
        try:
            return max((workbook[self.sheet].max_row or 0) - self.first_data_line + 1, 0)
        finally:
            workbook.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _is_import_id(cell: Any) -> bool:
    text = _text(cell)
    if not text.startswith("{"):
        return False
    try:
        return "ImportId" in json.loads(text)
    except (ValueError, TypeError):
        return False


def _flavour(headers: list[str], third: list[Any] | None) -> str:
    if third is not None and sum(_is_import_id(c) for c in third) >= max(1, len([c for c in third if c]) // 2):
        return "qualtrics"
    if FORMS_MARKERS <= {h.strip().casefold() for h in headers}:
        return "forms"
    return "plain"


def _check_headers(path: Path, headers: list[str], where: str) -> None:
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        if not header:
            continue
        if header in seen:
            raise InvalidImport(f"{where}, column {get_column_letter(i + 1)}: header '{header}' repeats column "
                                f"{get_column_letter(seen[header] + 1)}; give every column its own name")
        seen[header] = i


def _read_csv(path: Path) -> Tabular:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(SNIFF_BYTES)
    except UnicodeDecodeError:
        raise InvalidImport(f"{path.name}:1: not UTF-8 text; save the file as 'CSV UTF-8'") from None
    first_line = sample.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    if not sample.strip():
        raise InvalidImport(f"{path.name}:1: the file is empty")

    def records() -> Generator[tuple[int, list[str]], None, None]:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            start = 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError:
                    raise InvalidImport(f"{path.name}:{reader.line_num + 1}: not UTF-8 text; save the file as "
                                        "'CSV UTF-8'") from None
                except csv.Error as exc:
                    raise InvalidImport(f"{path.name}:{reader.line_num}: not a readable CSV row: {exc}") from None
                yield start, cells
                start = reader.line_num + 1

    head = records()
    try:
        _, headers = next(head)
        peek = [cells for _, (_, cells) in zip(range(2), head, strict=False)]
    finally:
        head.close()
    headers = [h.strip() for h in headers]
    third = peek[1] if len(peek) > 1 else None
    flavour = _flavour(headers, third)
    texts = [t.strip() for t in peek[0]] if flavour == "qualtrics" and peek else []
    skip = 3 if flavour == "qualtrics" else 1
    _check_headers(path, headers, f"{path.name}:1")

    def rows() -> Iterator[SourceRow]:
        source = records()
        for _ in range(skip):
            next(source, None)
        for line, cells in source:
            yield SourceRow(line, [csv_unescape(c) if c else None for c in cells])

    return Tabular(path, "csv", flavour, headers, texts, skip + 1, _rows=rows)


def _read_xlsx(path: Path) -> Tabular:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidImport(f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheet = "Raw data" if "Raw data" in workbook.sheetnames else workbook.sheetnames[0]
        head = list(workbook[sheet].iter_rows(min_row=1, max_row=3, values_only=True))
    finally:
        workbook.close()
    if not head:
        raise InvalidImport(f"{path.name}: sheet '{sheet}' is empty")
    headers = [_text(c) for c in head[0]]
    while headers and not headers[-1]:
        headers.pop()
    third = list(head[2]) if len(head) > 2 else None
    flavour = _flavour(headers, third)
    texts = [_text(c) for c in head[1]] if flavour == "qualtrics" else []
    skip = 3 if flavour == "qualtrics" else 1
    _check_headers(path, headers, f"{path.name}: sheet '{sheet}', row 1")

    def rows() -> Iterator[SourceRow]:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            for number, values in enumerate(book[sheet].iter_rows(min_row=skip + 1, values_only=True),
                                            start=skip + 1):
                yield SourceRow(number, list(values))
        finally:
            book.close()

    return Tabular(path, "xlsx", flavour, headers, texts, skip + 1, sheet=sheet, _rows=rows)


def read_table(path: str | Path) -> Tabular:
    """Open an answer file (.csv or .xlsx) for import."""
    path = Path(path)
    if not path.is_file():
        raise InvalidImport(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise InvalidImport(f"{path.name}: unknown file type '{suffix}'; import .csv or .xlsx files")


def as_day(value: Any) -> dt.date | None:
    """Return the day of a date/time cell ('2022-03-14 10:23:45', a datetime, '3/14/2022 10:23') or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for pattern in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def cell_text(value: Any) -> str:
    """Return a cell as text: numbers without a spurious '.0', dates as YYYY-MM-DD, stripped."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return _text(value)

