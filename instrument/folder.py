"""A folder of instruments read tolerantly: the good ones, and one message per bad file.

Every place that lists instruments (`instruments check`/`list`, `surveys create`, the new-survey page) reads
the folder through :func:`read_instruments`, so one broken file is named and never hides the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .model import Instrument
from .parser import instrument_files, load_instrument
from .yamlcheck import InvalidInstrument


@dataclass(frozen=True)
class Broken:
    """A file that cannot be served, and why (the message names the file and line; ``errors`` one by one)."""

    path: Path
    message: str
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shelf:
    """What a folder holds: the instruments that load, in file order, and the files that do not."""

    instruments: tuple[Instrument, ...]
    broken: tuple[Broken, ...]
    files: int

    def find(self, instrument_id: str) -> Instrument | None:
        """Return the good instrument with id *instrument_id*, if any."""
        return next((i for i in self.instruments if i.id == instrument_id), None)


def read_instruments(paths: list[Path], name: Callable[[Path], str] = str) -> Shelf:
    """Load every instrument file under *paths*; a file whose id an earlier file has is broken too.

    *name* turns a path into the file name shown in messages (and kept as the instrument's ``source``).
    """
    good: list[Instrument] = []
    broken: list[Broken] = []
    seen: dict[str, str] = {}
    files = instrument_files(paths)
    for path in files:
        try:
            inst = load_instrument(path, name(path))
        except InvalidInstrument as exc:
            broken.append(Broken(path, str(exc), exc.errors))
            continue
        if inst.id in seen:
            broken.append(Broken(path, f"{name(path)}:1: instrument id '{inst.id}' is also used by {seen[inst.id]}"))
            continue
        seen[inst.id] = name(path)
        good.append(inst)
    return Shelf(tuple(good), tuple(broken), len(files))
