"""Atomic saving: a file is written under a temporary name in its folder, then renamed over the target.

``os.replace`` within one folder is atomic, so a reader sees the old file or the new one, never half of
one; on any error the temporary file is deleted and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from openpyxl import Workbook


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to *path*; rename it over *path* when the block ends, delete it on error."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def discard(wb: Workbook) -> None:
    """Close and delete the temporary files of a write-only workbook that will not be saved."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)  # only write-only sheets keep temporary files
        if writer is None:
            continue
        # Cleaning up after a failure must never hide the failure itself, whatever state the sheet is in.
        with contextlib.suppress(Exception):
            ws.close()
        with contextlib.suppress(OSError, ValueError):
            writer.cleanup()


def save_atomically(wb: Workbook, path: str | os.PathLike[str]) -> None:
    """Save *wb* to *path* atomically: a failed save leaves no file behind and any old file as it was."""
    try:
        with replacing(path) as temporary:
            wb.save(temporary)
    except BaseException:
        discard(wb)
        raise
