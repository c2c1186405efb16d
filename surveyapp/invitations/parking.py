"""Parking and mixing: how a finished answer sheet of an invitation-mode survey becomes a response.

The final page burns the invitation (marks it answered) and *parks* the answers in the same transaction:
sealed under the survey's parking key, a file at ``instance/parking/<slug>.key`` (0600) that the database never
holds. The *mixer* then moves parked answers into ``responses`` once at least ``SURVEYKIT_MIX_BATCH`` are waiting,
and every one at close: one transaction deletes the whole batch, then inserts the responses in shuffled order
with fresh random keys and the day of mixing. So the one transaction that touches an invitation writes only
ciphertext, and the one that writes readable answers touches no invitation and writes a batch of at least k in
an order unrelated to arrival: whatever the history (SQLite's WAL, PostgreSQL's WAL, xmin/ctid, dead tuples)
shows, an answered invitation leads to a batch, never to one response in it.

Nothing acknowledged is lost: a parked row stays until the transaction that inserts its response deletes it
(a crash in between leaves it parked; the next mix takes it). The cost of one submission is one parked row,
plus at most one batch of k rows now and then: it does not grow with the answers already stored. After the last
mix at close the parking key is deleted, so copies of parked rows in the database's history can never be opened.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..models import ParkedAnswer, Response, Survey, random_key
from ..published import Published
from ..sealing import Unsealable, destroy_key_file, key_file, seal, unseal
from ..studies.linking import link

logger = logging.getLogger(__name__)
_shuffle = random.SystemRandom().shuffle


class ParkingError(RuntimeError):
    """Parked answers that cannot be opened (their survey's parking key is missing or another key)."""


def _key_path(slug: str) -> Path:
    return Path(current_app.instance_path) / "parking" / f"{slug}.key"


def _context(slug: str) -> str:
    return f"parked|{slug}"


def parking_key(slug: str, create: bool = False) -> bytes | None:
    """Return survey *slug*'s parking key, making it (0600, never replaced) when *create* and it is missing."""
    try:
        return key_file(_key_path(slug), create)
    except ValueError as exc:
        raise ParkingError(f"{exc}, where the survey's parking key belongs") from None


def retire_key(slug: str) -> None:
    """Overwrite and delete survey *slug*'s parking key (after the last mix at close)."""
    destroy_key_file(_key_path(slug))


def still_open(db: Session, slug: str) -> bool:
    """Say, inside the parking transaction, whether the survey is still open, holding it so close waits for us.

    Close commits ``closed`` first, then mixes and retires the key: an answer parked after that could never be
    opened. A share lock (PostgreSQL) or the write lock already held (SQLite) orders the two.
    """
    closed = db.scalar(select(Survey.closed).where(Survey.slug == slug).with_for_update(read=True))
    return closed is False


def park(db: Session, survey: Survey | Published, answers: dict[str, Any], study_id: str | None = None) -> None:
    """Add *answers*, sealed, to the survey's parked answers (inside the caller's transaction).

    A confidential study's wave seals the participant's study id with them (never the address), so the mixer
    links the response to it.
    """
    key = parking_key(survey.slug, create=True)
    assert key is not None
    sheet: Any = answers if study_id is None else [answers, study_id]
    db.add(ParkedAnswer(key=random_key(), survey_slug=survey.slug, sealed=seal(key, sheet, _context(survey.slug))))


def waiting(db: Session, slug: str) -> int:
    """Return how many parked answers of survey *slug* wait to be mixed."""
    return db.scalar(select(func.count()).select_from(ParkedAnswer).where(ParkedAnswer.survey_slug == slug)) or 0


def mix(db: Session, survey: Survey | Published, everything: bool = False) -> int:
    """Move the survey's parked answers into responses if at least k wait (all of them when *everything*).

    Return how many were moved. Safe to run from several processes at once and again after a crash.
    """
    batch = max(1, int(current_app.config["SURVEYKIT_MIX_BATCH"]))
    db.commit()  # a fresh transaction: on SQLite the DELETE below must not follow a stale read
    if not everything:
        if waiting(db, survey.slug) < batch:
            db.commit()
            return 0
        db.commit()
    taken = list(db.scalars(delete(ParkedAnswer).where(ParkedAnswer.survey_slug == survey.slug)
                            .returning(ParkedAnswer.sealed).execution_options(synchronize_session=False)))
    if not taken or (len(taken) < batch and not everything):
        db.rollback()  # another process mixed them meanwhile; fewer than k are left
        return 0
    key = parking_key(survey.slug)
    if key is None:
        db.rollback()
        raise ParkingError(f"survey '{survey.slug}': {len(taken)} parked answers wait but the parking key "
                           f"{_key_path(survey.slug)} is missing; restore it from a backup and run this again")
    try:
        sheets = [unseal(key, box, _context(survey.slug)) for box in taken]
    except Unsealable:
        db.rollback()
        raise ParkingError(f"survey '{survey.slug}': parked answers do not open with {_key_path(survey.slug)}; "
                           "restore the survey's own key and run this again") from None
    _shuffle(sheets)
    version = survey.instrument_version
    today = dt.date.today()
    rows = [{"key": random_key(), "survey_slug": survey.slug, "instrument_id": version.instrument_id,
             "instrument_version": version.version, "instrument_sha256": version.sha256, "submitted_on": today,
             "answers": sheet[0] if isinstance(sheet, list) else sheet} for sheet in sheets]
    db.execute(insert(Response), rows)
    link(db, survey.slug, [(row["key"], sheet[1]) for row, sheet in zip(rows, sheets, strict=True)
                           if isinstance(sheet, list)])
    db.commit()
    return len(sheets)


def mix_after_answer(db: Session, survey: Survey | Published) -> None:
    """Mix once k answers wait; a lock conflict only postpones it (the answer is parked, nothing is lost)."""
    try:
        mix(db, survey)
    except OperationalError:
        db.rollback()
        logger.warning("mixing of parked answers postponed (lock conflict)")
    except ParkingError as exc:  # the respondent's answer is parked and safe; the operator must act
        logger.error("%s", exc)


def mix_for_reading(db: Session, survey: Survey) -> int:
    """Before answers are read: mix everything once the survey is closed, else whatever batch is ready."""
    if survey.mode != "invitation":
        return 0
    return mix(db, survey, everything=survey.state() == "closed")
