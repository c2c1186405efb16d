"""Read answer files exported elsewhere (Microsoft Forms, Qualtrics) or by us, keeping where each cell is.

A file is read into a :class:`Tabular`: its column headers, the question texts when the file carries them
(Qualtrics' second header row), and its data rows, each with the line it starts on. Reading itself (encoding,
delimiter, lines, the one error format ``file:line, column X ('header'): what``) is :mod:`exports.tabular`'s.

* CSV: cells written by our CSV export are un-escaped (a leading apostrophe that protected a formula-looking text).
* XLSX: the sheet called "Raw data" (our workbook) if there is one, else the first sheet.
* Qualtrics, three layouts, each detected and named in :attr:`Tabular.layout`:
  three header rows (names, question texts, ``{"ImportId": ...}``), data from line 4; two header rows (names,
  question texts: the ImportId row left out), data from line 3, recognised by Qualtrics' own columns whose
  second-row cells are labels, not data (a date, a number, True/False); the legacy layout (``V1``, ``V2``, ...
  over its own names ``ResponseID``, ``Name``, ``EmailAddress``, ... on the second row, then ``Q1``, ...), whose
  ``V`` columns are known by those names.
* Microsoft Forms: recognized by its "ID", "Start time", "Completion time" columns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .tabular.errors import TableError, column_letter, column_name, place
from .tabular.reading import SheetRow, TableFile, cell_text, is_blank, open_table
from .tabular.text import csv_unescape

FORMS_MARKERS = {"id", "start time", "completion time"}
RAW_SHEET = "Raw data"  # the sheet our workbook keeps one row per response in

# A bad answer file raises the one table error; the import code and its callers know it by this name.
InvalidImport = TableError
SourceRow = SheetRow


@dataclass
class Tabular:
    """A file of answers: headers, optional question texts, and a way to stream its rows."""

    file: TableFile
    flavour: str  # qualtrics, forms or plain
    headers: list[str]
    texts: list[str] = field(default_factory=list)
    first_data_line: int = 2
    layout: str = ""  # what the reader recognised, said in the import's output
    names: list[str] = field(default_factory=list)  # the first row as written (legacy Qualtrics: V1, V2, ...)
    import_ids: list[str] = field(default_factory=list)  # Qualtrics' third header row
    header_rows: int = 1

    @property
    def path(self) -> Path:
        """Return the file's path."""
        return Path(self.file.name) if isinstance(self.file.source, bytes) else self.file.source

    @property
    def kind(self) -> str:
        """Return "csv" or "xlsx"."""
        return self.file.kind

    @property
    def sheet(self) -> str:
        """Return the sheet read (XLSX), else ""."""
        return self.file.sheet

    def rows(self) -> Iterator[SheetRow]:
        """Stream the data rows (blank rows skipped; our CSV export's formula escapes undone)."""
        unescape = self.kind == "csv"
        for row in self.file.rows(skip=self._skip):
            if is_blank(row.cells):
                continue
            if unescape:
                row.cells = [csv_unescape(c) if c else None for c in row.cells]
            yield row

    @property
    def _skip(self) -> int:
        return self.header_rows

    def column(self, index: int) -> str:
        """Return how to name column *index* (0-based) in a message: its letter and header."""
        return column_name(index, self.headers[index] if index < len(self.headers) else "")

    def where(self, line: int | None, index: int | None = None) -> str:
        """Return "file:line", with the column when given."""
        header = self.headers[index] if index is not None and index < len(self.headers) else None
        return place(self.file.name, line, index, header)

    def estimate_rows(self) -> int:
        """Return about how many data rows there are (for a progress bar)."""
        extra = 2 if self.kind == "csv" else 1  # a CSV file's last line may lack its newline
        return max(self.file.count_rows() - self.first_data_line + extra, 0)


def _is_import_id(cell: Any) -> bool:
    text = cell_text(cell)
    if not text.startswith("{"):
        return False
    try:
        return "ImportId" in json.loads(text)
    except (ValueError, TypeError):
        return False


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


# Qualtrics' own columns, and how a data cell of each looks: a second row whose cells in these columns do not
# look like data (localised labels: "Start Date", "Anfangsdatum", "Progress") is a header row.
QUALTRICS_DATA = {
    "startdate": "day", "enddate": "day", "recordeddate": "day", "progress": "number",
    "durationinseconds": "number", "finished": "flag",
}
QUALTRICS_NAMES = {*QUALTRICS_DATA, "status", "ipaddress", "responseid", "distributionchannel", "userlanguage",
                   "recipientlastname", "recipientfirstname", "recipientemail", "externalreference",
                   "locationlatitude", "locationlongitude"}


def _looks_like_data(kind: str, cell: Any) -> bool:
    text = cell_text(cell)
    if not text:
        return True  # a label row names every column; an empty cell is data
    if kind == "day":
        return as_day(cell) is not None
    if kind == "number":
        return re.fullmatch(r"-?\d+(\.\d+)?", text) is not None
    return text.casefold() in ("true", "false", "1", "0")


def _second_row_is_header(headers: list[str], second: list[Any]) -> bool:
    """Say whether the row under a Qualtrics name row holds the question texts (the ImportId row left out)."""
    keys = [_squash(h) for h in headers]
    checks = [(QUALTRICS_DATA[k], second[i] if i < len(second) else None)
              for i, k in enumerate(keys) if k in QUALTRICS_DATA]
    # Without them the row cannot be told from data here; the plan refuses a first row of question texts.
    return bool(checks) and not any(_looks_like_data(kind, cell) for kind, cell in checks)


def _layout(headers: list[str], head: list[list[Any]]) -> tuple[str, str, int]:
    """Return (flavour, layout said to the user, header rows) for a file starting with the rows *head*."""
    third = list(head[2]) if len(head) > 2 else None
    second = list(head[1]) if len(head) > 1 else []
    if third is not None and sum(_is_import_id(c) for c in third) >= max(1, len([c for c in third if c]) // 2):
        return "qualtrics", "Qualtrics, 3 header rows (names, question texts, ImportId)", 3
    keys = [_squash(h) for h in headers]
    if keys[:3] == ["v1", "v2", "v3"] and second and _squash(cell_text(second[0])) == "responseid":
        return "qualtrics", "Qualtrics legacy (V1...Vn over its own column names, then question texts)", 2
    if len(QUALTRICS_NAMES & set(keys)) >= 2 and second and _second_row_is_header(headers, second):
        return "qualtrics", "Qualtrics, 2 header rows (names, question texts; no ImportId row)", 2
    if FORMS_MARKERS <= {h.strip().casefold() for h in headers}:
        return "forms", "Microsoft Forms (ID, Start time, Completion time, Email, Name, questions)", 1
    return "plain", "one header row (our raw export, or columns named by id or question text)", 1


def _check_headers(file: TableFile, headers: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        if not header:
            continue
        if header in seen:
            raise file.error(f"header '{header}' repeats column {column_letter(seen[header])}; "
                             "give every column its own name", 1, i, header)
        seen[header] = i


def read_table(path: str | Path) -> Tabular:
    """Open an answer file (.csv or .xlsx) for import."""
    file = open_table(path, sheet=RAW_SHEET)
    rows = file.rows()
    try:
        head = [row.cells for _, row in zip(range(3), rows, strict=False)]
    finally:
        rows.close()
    if file.kind == "csv" and all(is_blank(cells) for cells in head):
        raise file.error("the file is empty", 1)
    if not head:
        raise file.error(f"sheet '{file.sheet}' is empty")
    headers = [cell_text(c) for c in head[0]]
    while file.kind == "xlsx" and headers and not headers[-1]:
        headers.pop()
    flavour, layout, header_rows = _layout(headers, head)
    names = list(headers)
    texts = [cell_text(c) for c in head[1]] if flavour == "qualtrics" else []
    import_ids = [_import_id(c) for c in head[2]] if header_rows == 3 else []
    if layout.startswith("Qualtrics legacy"):
        # V1..V10 are Qualtrics' own columns: the second row says which (ResponseID, Name, EmailAddress, ...).
        headers = [texts[i] if re.fullmatch(r"V\d+", h) and i < len(texts) and texts[i] else h
                   for i, h in enumerate(headers)]
    if flavour != "forms":
        # Forms heads each column with its question's text, so questions sharing a text share a header; the
        # plan matches those in order. Anywhere else a repeated header is a mistake.
        _check_headers(file, headers)
    table = Tabular(file, flavour, headers, texts, layout=layout, names=names, import_ids=import_ids,
                    header_rows=header_rows)
    table.first_data_line = header_rows + 1
    return table


def _import_id(cell: Any) -> str:
    if not _is_import_id(cell):
        return ""
    return str(json.loads(cell_text(cell)).get("ImportId", ""))


def as_day(value: Any) -> dt.date | None:
    """Return the day of a date/time cell ('2022-03-14 10:23:45', a datetime, '3/14/2022 10:23') or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
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

