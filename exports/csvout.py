"""The raw data as CSV: the same columns as the workbook's raw sheet, UTF-8 with a BOM so Excel reads it.

Text is written formula-safe (see :mod:`exports.tabular.text`); newlines inside answers are kept (the cell is
quoted); no text is split, as CSV has no cell limit.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import Any

from instrument import Instrument

from .columns import raw_columns, row_reader
from .model import Answers
from .tabular.saving import replacing
from .tabular.text import csv_text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_text(value)
    if isinstance(value, bool):
        return int(value)
    return value


def write_csv(path: str | os.PathLike[str], instrument: Instrument, responses: Iterable[Answers]) -> int:
    """Write one row per response to *path* (atomically); return the number of rows."""
    columns = raw_columns(instrument, split_text=False)
    read = row_reader(columns)
    count = 0
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([csv_text(c.header) for c in columns])
        for answers in responses:
            writer.writerow([_cell(value) for value in read(answers)])
            count += 1
    return count
