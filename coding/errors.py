"""Domain errors for bad coding input files, carrying where (file, line, what part) and what went wrong."""

from __future__ import annotations

from os import PathLike

from exports.tabular.errors import TableError

# A coded spreadsheet that cannot be read raises the one table error (``file:line, column X ('header'): what``);
# coding's callers know it by this name.
InvalidSpreadsheet = TableError


class InvalidCodingInput(ValueError):
    """A coding input file is malformed; the message reads ``file:line: where: what``."""

    def __init__(self, path: str | PathLike[str], line: int | None, what: str, *, where: str | None = None):
        self.path = str(path)
        self.line = line
        self.where = where
        self.what = what
        location = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{location}: {where}: {what}" if where else f"{location}: {what}")


class InvalidCodebook(InvalidCodingInput):
    """A codebook file (YAML or REFI-QDA .qdc) cannot be read; ``where`` names the code path."""
