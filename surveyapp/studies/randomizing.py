"""A study's randomization kept concealed: the settings and seed sealed, each place revealed at enrollment.

``randomize`` seals the arms, ratio, block sizes, seed and a random salt under the study's allocation key, a
file outside the database (``instance/studies/<slug>.key``, 0600), and keeps the SHA-256 of them as a
commitment (the salt stops anyone trying seeds against it). The list itself is drawn by
:func:`instrument.allocation.allocation_list` and never stored ahead: enrolling a participant opens the seal,
draws their stratum's list up to the next place and records that one place (``study_allocations``). So
neither the database nor the commands show a participant's arm before they are enrolled, and the same seed
always gives the same list (the settings export with the allocation table once enrollment is over).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from instrument.allocation import Allocation, RandomizationError, allocation_list

from ..sealing import Unsealable, key_file, seal, unseal
from .models import Study, StudyAllocation, StudyError, StudyParticipant, StudyRandomization

ALL = "All"  # the one stratum of an unstratified study


def _key_path(slug: str) -> Path:
    return Path(current_app.instance_path) / "studies" / f"{slug}.key"


def _context(slug: str) -> str:
    return f"allocation|{slug}"


def _digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def randomize(db: Session, study: Study, arms: list[str], ratio: tuple[int, ...], block_sizes: list[int],
              strata_by: str, seed: int, today: dt.date) -> int:
    """Seal the study's randomization (not committed); allocate anyone enrolled already; return how many."""
    if study.linkage != "confidential":
        raise StudyError(f"study '{study.slug}' is an anonymous panel: its respondents are not known, so they "
                         "cannot be randomized")
    if db.get(StudyRandomization, study.slug) is not None:
        raise StudyError(f"study '{study.slug}' is randomized already (one list per study, kept with its seed)")
    if strata_by not in ("", "department"):
        raise StudyError(f"--strata {strata_by}: a study can be stratified by department (the roster's column)")
    given = db.scalar(select(func.count()).select_from(StudyParticipant)
                      .where(StudyParticipant.study_slug == study.slug, StudyParticipant.arm.is_not(None))) or 0
    if given:
        raise StudyError(f"study '{study.slug}' has {given} participant(s) with an arm from the roster; a "
                         "study takes its arms either from the roster or from randomization, not both")
    try:
        allocation_list(arms, ratio, block_sizes, ["check"], 1, seed)
    except RandomizationError as exc:
        raise StudyError(str(exc)) from None
    settings = {"arms": arms, "ratio": list(ratio), "block_sizes": sorted(set(block_sizes)), "seed": seed,
                "strata_by": strata_by, "salt": secrets.token_hex(16)}
    key = key_file(_key_path(study.slug), create=True)
    assert key is not None
    db.add(StudyRandomization(study_slug=study.slug, arms=arms, strata_by=strata_by,
                              sealed=seal(key, settings, _context(study.slug)), sha256=_digest(settings),
                              created_on=today))
    db.flush()
    waiting = list(db.scalars(select(StudyParticipant).where(StudyParticipant.study_slug == study.slug)
                              .order_by(StudyParticipant.study_id)))
    for participant in waiting:
        allocate(db, study, participant, today)
    return len(waiting)


def settings_of(db: Session, study: Study) -> dict[str, Any]:
    """Open the study's sealed randomization settings (arms, ratio, block sizes, seed, salt)."""
    row = db.get(StudyRandomization, study.slug)
    if row is None:
        raise StudyError(f"study '{study.slug}' is not randomized (see 'surveykit studies randomize')")
    try:
        key = key_file(_key_path(study.slug))
    except ValueError as exc:
        raise StudyError(str(exc)) from None
    if key is None:
        raise StudyError(f"study '{study.slug}': the allocation key {_key_path(study.slug)} is missing; restore "
                         "it from the backup made at randomization")
    try:
        settings: dict[str, Any] = unseal(key, row.sealed, _context(study.slug))
    except Unsealable:
        raise StudyError(f"study '{study.slug}': the allocation does not open with {_key_path(study.slug)}") from None
    if _digest(settings) != row.sha256:
        raise StudyError(f"study '{study.slug}': the allocation's settings do not match their commitment")
    return settings


def _place(settings: dict[str, Any], stratum: str, sequence: int) -> Allocation:
    return allocation_list(settings["arms"], settings["ratio"], settings["block_sizes"], [stratum], sequence,
                           settings["seed"])[sequence - 1]


def allocate(db: Session, study: Study, participant: StudyParticipant, today: dt.date) -> str:
    """Give *participant* the next place of their stratum's list (not committed); return the arm."""
    settings = settings_of(db, study)
    stratum = participant.stratum if settings["strata_by"] else ALL
    used = db.scalar(select(func.count()).select_from(StudyAllocation)
                     .where(StudyAllocation.study_slug == study.slug, StudyAllocation.stratum == stratum)) or 0
    place = _place(settings, stratum, used + 1)
    db.add(StudyAllocation(study_slug=study.slug, stratum=stratum, sequence=place.sequence, block=place.block,
                           block_size=place.block_size, arm=place.arm, study_id=participant.study_id,
                           enrolled_on=today))
    participant.arm = place.arm
    participant.enrolled_on = today
    db.flush()
    return place.arm


ALLOCATION_HEADER = ["Stratum", "Sequence", "Block", "Block size", "Arm", "Study id", "Enrolled on"]


def allocation_rows(db: Session, study: Study) -> list[list[Any]]:
    """Return the allocation table: the places used so far, per stratum in order (never a place not yet used)."""
    return [[a.stratum, a.sequence, a.block, a.block_size, a.arm, a.study_id, a.enrolled_on]
            for a in db.scalars(select(StudyAllocation).where(StudyAllocation.study_slug == study.slug)
                                .order_by(StudyAllocation.stratum, StudyAllocation.sequence))]


def unallocated(db: Session, study: Study) -> int:
    """Return how many participants have no arm yet."""
    return db.scalar(select(func.count()).select_from(StudyParticipant)
                     .where(StudyParticipant.study_slug == study.slug, StudyParticipant.arm.is_(None))) or 0
