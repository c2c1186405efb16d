"""Read coded spreadsheets (CSV or XLSX) into Codings.

One row per (unit, coder): columns ``unit``, ``coder``, ``codes`` and optionally ``text`` (header names are
case-insensitive; other columns are ignored). ``codes`` holds codes separated by ``;`` with hierarchy levels
separated by ``/``, e.g. ``Effectiveness/Perspective taking; Barriers``. Whitespace around codes and levels is
trimmed; an empty cell means the coder read the unit and applied no code. Errors read ``file:line, column X
('header'): what`` (see :mod:`exports.tabular.errors`): the XLSX row, or the CSV line the row starts on.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from os import PathLike

from exports.tabular.errors import TableError
from exports.tabular.reading import TableFile, cell_text, open_table

REQUIRED_COLUMNS = ("unit", "coder", "codes")
OPTIONAL_COLUMNS = ("text",)


@dataclass
class CodedSheet:
    """Codings read from a spreadsheet (unit -> coder -> codes) and each unit's text, if given."""

    codings: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class Header:
    """A sheet's header row: where each known column is, and how to name a cell of it in an error."""

    file: TableFile
    cells: list[str]
    columns: dict[str, int]

    def cell(self, row: list[str], name: str) -> str:
        """Return the text of column *name* in *row* ("" when the sheet has no such column or the row is short)."""
        i = self.columns.get(name)
        return row[i] if i is not None and i < len(row) else ""

    def error(self, what: str, line: int | None, name: str | None = None) -> TableError:
        """Return the error for *what* on *line*, in column *name* when the sheet has it."""
        index = self.columns.get(name) if name is not None else None
        return self.file.error(what, line, index, self.cells[index] if index is not None else None)


def open_sheet(path: str | PathLike[str] | bytes, known: tuple[str, ...], expected: str,
               name: str | None = None) -> tuple[Header, Generator[tuple[int, list[str]], None, None]]:
    """Open a sheet (a path, or uploaded bytes called *name*) and read its header (names case-insensitive);
    return it and the rows below as (line, texts).

    Raise TableError when the header is missing (saying the *expected* columns) or names a known column twice.
    Close the rows when stopping early.
    """
    file = open_table(path, name)
    with closing(file.rows()) as rows:
        first = next(rows, None)
    header = [cell_text(c) for c in first.cells] if first is not None else []
    if not any(header):
        raise file.error(f"no header row; expected columns {expected}", 1)
    columns: dict[str, int] = {}
    for i, name in enumerate(h.lower() for h in header):
        if name in known:
            if name in columns:
                raise file.error("duplicate column", 1, i, header[i])
            columns[name] = i
    # Blank rows (common at the end of hand-edited sheets) are left out.
    return Header(file, header, columns), file.text_rows(skip=1)


def read_codings(path: str | PathLike[str]) -> CodedSheet:
    """Read a coded CSV or XLSX file; raise TableError naming file, line and column on bad input."""
    header, rows = open_sheet(path, REQUIRED_COLUMNS + OPTIONAL_COLUMNS, ", ".join(REQUIRED_COLUMNS))
    # Close the reader (and the workbook file) even when parsing stops at an error.
    with closing(rows):
        return _parse(header, rows)


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


def _parse(header: Header, rows: Iterator[tuple[int, list[str]]]) -> CodedSheet:
    missing = [c for c in REQUIRED_COLUMNS if c not in header.columns]
    if missing:
        raise header.error(f"missing column{'s' if len(missing) > 1 else ''} "
                           f"{', '.join(repr(c) for c in missing)}", 1)
    sheet = CodedSheet()
    seen: dict[tuple[str, str], int] = {}
    text_line: dict[str, int] = {}
    for line, row in rows:
        unit, coder = header.cell(row, "unit"), header.cell(row, "coder")
        for name, value in (("unit", unit), ("coder", coder)):
            if not value:
                raise header.error("empty", line, name)
        if (unit, coder) in seen:
            raise header.error(f"unit {unit!r} coded by {coder!r} again (first on line {seen[unit, coder]})",
                               line, "coder")
        seen[unit, coder] = line
        try:
            codes = parse_codes(header.cell(row, "codes"))
        except ValueError as e:
            raise header.error(str(e), line, "codes") from e
        sheet.codings.setdefault(unit, {})[coder] = codes

        text = header.cell(row, "text")
        if text:
            if unit in sheet.texts and sheet.texts[unit] != text:
                raise header.error(f"text of unit {unit!r} differs from line {text_line[unit]}", line, "text")
            sheet.texts.setdefault(unit, text)
            text_line.setdefault(unit, line)
    return sheet
