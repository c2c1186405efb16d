"""Domain errors for bad coding input files, carrying where (file, line, what part) and what went wrong."""

from __future__ import annotations

from os import PathLike


class InvalidCodingInput(ValueError):
    """A coding input file is malformed; the message reads ``file:line: where: what``."""

    def __init__(self, path: str | PathLike[str], line: int | None, what: str, *, where: str | None = None):
        self.path = str(path)
        self.line = line
        self.where = where
        self.what = what
        location = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{location}: {where}: {what}" if where else f"{location}: {what}")


class InvalidSpreadsheet(InvalidCodingInput):
    """A coded spreadsheet (CSV or XLSX) cannot be read; ``where`` names the column."""


class InvalidCodebook(InvalidCodingInput):
    """A codebook file (YAML or REFI-QDA .qdc) cannot be read; ``where`` names the code path."""
