"""Atomic saving: a file is written under a temporary name in its folder, then renamed over the target.

``os.replace`` within one folder is atomic, so a reader sees the old file or the new one, never half of
one; on any error the temporary file is deleted and the target is left as it was. ``mkstemp`` creates the
temporary file readable by its owner only (0600); before the rename it is given the mode any new file of the
user gets (0666 less the umask), or the mode of the file it replaces, so a colleague in the same group reads
an export exactly as they would read one the user saved by hand.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CSV writers save through here and must not load openpyxl
    from openpyxl import Workbook


def _umask() -> int:
    """Return the process umask without changing it (Linux reports it); else read it by setting it back."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no way to read it otherwise; restored at once
    os.umask(mask)
    return mask


def target_mode(target: Path) -> int:
    """Return the permission bits a file saved at *target* gets: those of the file it replaces, else 0666 & ~umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to *path*; rename it over *path* when the block ends, delete it on error."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, target_mode(target))
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
