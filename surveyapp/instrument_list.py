"""The instruments on offer: the instruments folder's files and those saved in the browser, one list for all.

An instrument saved on the instrument pages is an ``instrument_versions`` row marked ``uploaded``; its current
version is its highest. When the folder holds a file with the same id, the higher version wins (the database's on
a tie: both name the one stored row). `instruments list`, `surveys create`, the new-survey page and the instrument
pages all read :func:`offered`, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from instrument import Broken, Instrument, InvalidInstrument, Shelf, parse_instrument, read_instruments

from .models import InstrumentVersion, Response


def saved_source(instrument_id: str, version: int) -> str:
    """Return the name an instrument saved in the browser goes by in messages."""
    return f"{instrument_id} v{version} (saved in the browser)"


@dataclass(frozen=True)
class Offered:
    """The current version of every instrument, the folder's broken files, and where each text lives."""

    shelf: Shelf
    folder: Path
    saved: dict[str, str] = field(default_factory=dict)  # id -> text, for those whose current version is saved

    def text_of(self, inst: Instrument) -> str:
        """Return the exact text *inst* was read from."""
        found = self.saved.get(inst.id)
        if found is not None:
            return found
        return (self.folder / Path(inst.source).name).read_text(encoding="utf-8")

    def is_saved(self, inst: Instrument) -> bool:
        """Say whether *inst*'s current version was saved in the browser (rather than read from the folder)."""
        return inst.id in self.saved


def offered(session: Session, folder: Path, name: Callable[[Path], str] = str) -> Offered:
    """Read the folder and the saved instruments into one list, sorted by id."""
    shelf = read_instruments([folder], name)
    latest = (select(InstrumentVersion.instrument_id, func.max(InstrumentVersion.version).label("version"))
              .where(InstrumentVersion.uploaded.is_(True)).group_by(InstrumentVersion.instrument_id).subquery())
    rows = session.execute(select(InstrumentVersion.instrument_id, InstrumentVersion.version,
                                  InstrumentVersion.source_text)
                           .join(latest, (latest.c.instrument_id == InstrumentVersion.instrument_id)
                                 & (latest.c.version == InstrumentVersion.version))).all()
    chosen = {inst.id: inst for inst in shelf.instruments}
    broken = list(shelf.broken)
    saved: dict[str, str] = {}
    for instrument_id, version, text in rows:
        in_folder = chosen.get(instrument_id)
        if in_folder is not None and in_folder.version > version:
            continue
        try:
            inst = parse_instrument(text, saved_source(instrument_id, version))
        except InvalidInstrument as exc:  # checked when saved; a later, stricter parser may still refuse it
            broken.append(Broken(Path(instrument_id), str(exc), exc.errors))
            continue
        chosen[instrument_id] = inst
        saved[instrument_id] = text
    instruments = tuple(chosen[i] for i in sorted(chosen))
    return Offered(Shelf(instruments, tuple(broken), shelf.files + len(saved)), folder, saved)


@dataclass(frozen=True)
class StoredVersion:
    """One version of an instrument kept in the database, and how many answers it has."""

    id: int
    instrument_id: str
    version: int
    title: str
    uploaded: bool
    answers: int


def stored_versions(session: Session) -> dict[str, list[StoredVersion]]:
    """Return every stored version by instrument id, newest first."""
    answered = {(iid, version): n for iid, version, n in session.execute(
        select(Response.instrument_id, Response.instrument_version, func.count())
        .group_by(Response.instrument_id, Response.instrument_version)).tuples()}
    found: dict[str, list[StoredVersion]] = {}
    for row in session.scalars(select(InstrumentVersion).order_by(InstrumentVersion.instrument_id,
                                                                  InstrumentVersion.version.desc())):
        found.setdefault(row.instrument_id, []).append(StoredVersion(
            row.id, row.instrument_id, row.version, row.title, row.uploaded,
            answered.get((row.instrument_id, row.version), 0)))
    return found


def next_version(session: Session, offer: Offered, instrument_id: str) -> int:
    """Return the version number a changed text of *instrument_id* should take: one above every known one."""
    stored = session.scalar(select(func.max(InstrumentVersion.version))
                            .where(InstrumentVersion.instrument_id == instrument_id)) or 0
    current = offer.shelf.find(instrument_id)
    return max(stored, current.version if current else 0) + 1
