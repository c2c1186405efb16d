"""The raw data as CSV: the same columns as the workbook's raw sheet, UTF-8 with a BOM so Excel reads it.

Written by :class:`exports.tabular.csvwrite.CsvWriter` (every field quoted, text formula-safe in ``,`` and ``;``
locales, numbers as numbers); newlines inside answers are kept; no text is split, as CSV has no cell limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from instrument import Instrument

from .columns import export_columns, row_reader
from .model import Answers
from .tabular.csvwrite import CsvWriter
from .tabular.saving import replacing


def write_csv(path: str | os.PathLike[str], instrument: Instrument, responses: Iterable[Answers]) -> int:
    """Write one row per response to *path* (atomically); return the number of rows."""
    columns = export_columns(instrument, split_text=False)
    read = row_reader(columns)
    count = 0
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as out:
        writer = CsvWriter(out)
        writer.writerow(c.header for c in columns)
        for answers in responses:
            writer.writerow(read(answers))
            count += 1
    return count
