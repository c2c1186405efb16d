"""Exports are written with the user's normal permissions: 0666 less the umask, or the mode of the file replaced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from openpyxl import Workbook

from exports.tabular.saving import replacing, save_atomically


@pytest.fixture
def umask():
    """Set a umask for the test and restore the process's own afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_file_honours_umask(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    target = tmp_path / "out.csv"
    with replacing(target) as temporary:
        temporary.write_text("a,b\n", encoding="utf-8")
    assert _mode(target) == expected  # mkstemp alone gives 0600 whatever the umask

    book = tmp_path / "book.xlsx"
    wb = Workbook(write_only=True)
    wb.create_sheet("S").append(["x"])
    save_atomically(wb, book)
    assert _mode(book) == expected


def test_replaced_file_keeps_its_mode(tmp_path: Path, umask) -> None:
    umask(0o022)
    target = tmp_path / "shared.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o660)
    with replacing(target) as temporary:
        temporary.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new" and _mode(target) == 0o660
