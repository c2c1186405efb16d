"""Read coded spreadsheets (CSV or XLSX) into Codings.

One row per (unit, coder): columns ``unit``, ``coder``, ``codes`` and optionally ``text`` (header names are
case-insensitive; other columns are ignored). ``codes`` holds codes separated by ``;`` with hierarchy levels
separated by ``/``, e.g. ``Effectiveness/Perspective taking; Barriers``. Whitespace around codes and levels is
trimmed; an empty cell means the coder read the unit and applied no code. Line numbers in errors are the row
numbers a user sees in Excel, the header being line 1.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from coding.errors import InvalidSpreadsheet

REQUIRED_COLUMNS = ("unit", "coder", "codes")
OPTIONAL_COLUMNS = ("text",)


@dataclass
class CodedSheet:
    """Codings read from a spreadsheet (unit -> coder -> codes) and each unit's text, if given."""

    codings: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def sheet_rows(path: Path) -> Generator[list[str], None, None]:
    """Return the rows of a CSV or XLSX file as lists of cell texts (close it when stopping early)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix == ".xlsx":
        return _xlsx_rows(path)
    kind = suffix or "(none)"
    raise InvalidSpreadsheet(path, None, f"unsupported file type {kind!r}; use .csv or .xlsx")


def read_codings(path: str | PathLike[str]) -> CodedSheet:
    """Read a coded CSV or XLSX file; raise InvalidSpreadsheet naming file, line and column on bad input."""
    path = Path(path)
    rows = sheet_rows(path)
    # Close the reader (and the workbook file) even when parsing stops at an error.
    with closing(rows):
        return _parse(path, rows)


def parse_codes(cell: str) -> frozenset[str]:
    """Split a codes cell on ';' and normalise each 'Level/Level' path; raise ValueError on an empty level."""
    codes = set()
    for piece in cell.split(";"):
        if not piece.strip():
            continue  # tolerate "a;" and "a; ;b", common when codes are typed by hand
        levels = [level.strip() for level in piece.split("/")]
        if not all(levels):
            raise ValueError(f"empty level in code {piece.strip()!r}")
        codes.add("/".join(levels))
    return frozenset(codes)


def _csv_rows(path: Path) -> Generator[list[str], None, None]:
    # utf-8-sig drops the byte-order mark Excel writes when saving "CSV UTF-8".
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            yield from csv.reader(f)
    except UnicodeDecodeError as e:
        raise InvalidSpreadsheet(path, None, f"not UTF-8 text ({e.reason} at byte {e.start})") from e
    except csv.Error as e:
        raise InvalidSpreadsheet(path, None, f"malformed CSV: {e}") from e


def _xlsx_rows(path: Path) -> Generator[list[str], None, None]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        raise InvalidSpreadsheet(path, None, f"not a readable .xlsx workbook ({e})") from e
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        # read_only workbooks keep the file open until closed.
        workbook.close()


def _cell_text(value: object) -> str:
    """Render an XLSX cell as the text the user sees (17.0 typed as a unit id is '17')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse(path: Path, rows: Iterator[list[str]]) -> CodedSheet:
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        raise InvalidSpreadsheet(path, 1, f"no header row; expected columns {', '.join(REQUIRED_COLUMNS)}")
    names = [cell.strip().lower() for cell in header]
    columns: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            if name in columns:
                raise InvalidSpreadsheet(path, 1, "duplicate column", where=f"column {name!r}")
            columns[name] = i
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidSpreadsheet(path, 1, f"missing column{'s' if len(missing) > 1 else ''} "
                                          f"{', '.join(repr(c) for c in missing)}")

    sheet = CodedSheet()
    seen: dict[tuple[str, str], int] = {}
    text_line: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank rows are common at the end of hand-edited sheets

        def cell(name: str, row: list[str] = row) -> str:
            i = columns.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        unit, coder = cell("unit"), cell("coder")
        for name, value in (("unit", unit), ("coder", coder)):
            if not value:
                raise InvalidSpreadsheet(path, line, "empty", where=f"column {name!r}")
        if (unit, coder) in seen:
            raise InvalidSpreadsheet(
                path, line, f"unit {unit!r} coded by {coder!r} again (first on line {seen[unit, coder]})",
                where="column 'coder'",
            )
        seen[unit, coder] = line
        try:
            codes = parse_codes(cell("codes"))
        except ValueError as e:
            raise InvalidSpreadsheet(path, line, str(e), where="column 'codes'") from e
        sheet.codings.setdefault(unit, {})[coder] = codes

        text = cell("text")
        if text:
            if unit in sheet.texts and sheet.texts[unit] != text:
                what = f"text of unit {unit!r} differs from line {text_line[unit]}"
                raise InvalidSpreadsheet(path, line, what, where="column 'text'")
            sheet.texts.setdefault(unit, text)
            text_line.setdefault(unit, line)
    return sheet
