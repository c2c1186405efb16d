"""The studies' tables: a study, its waves (each a survey), its participants, the key table and the allocation.

What is kept where, and why:

- ``study_participants``: a random study id, the stratum, the arm (empty until enrolled in a randomized study)
  and the day of enrollment. No address.
- ``study_keys``: the key table, address <-> study id, and nothing else. It is the only place an address meets a
  study id; ``surveykit studies destroy-key`` deletes it (after exporting it for the team's records), after which
  nothing links a person to a study id.
- ``study_links``: a response of a confidential study's wave and the study id and arm it was given under; the
  analysis reads only these, the participants and the answers, never the key table.
- ``study_randomizations``: the randomization's settings and its seed, sealed under a key file outside the
  database (``instance/studies/<slug>.key``), with the SHA-256 of the settings as a commitment; the list is drawn
  again from the seed when a participant is enrolled, so the database never holds an allocation ahead of time.
- ``study_allocations``: the places of the list already used: stratum, sequence, block, arm and the study id
  enrolled there. A place appears only when its participant is enrolled.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base

LINKAGES = ("confidential", "anonymous_panel")


class StudyError(ValueError):
    """A study command that cannot be done; the message says what and why."""


class Study(Base):
    """A study: its waves are surveys; linkage says how a participant's answers are linked across them."""

    __tablename__ = "studies"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    linkage: Mapped[str] = mapped_column(String(20))
    # Anonymous panel: the questions whose answers, joined, are the self-generated identification code; or, with
    # random_code, the one question of the later waves asking for the code shown at the end of wave 1.
    code_questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    random_code: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)


class StudyWave(Base):
    """Wave *number* of a study: one survey, with a label such as "baseline" or "3 months"."""

    __tablename__ = "study_waves"
    __table_args__ = (UniqueConstraint("study_slug", "label"),)

    study_slug: Mapped[str] = mapped_column(ForeignKey("studies.slug", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug"), unique=True)


class StudyParticipant(Base):
    """A participant of a confidential study: a random study id, the stratum and, once enrolled, the arm."""

    __tablename__ = "study_participants"
    __table_args__ = {"sqlite_with_rowid": False}

    study_slug: Mapped[str] = mapped_column(ForeignKey("studies.slug", ondelete="CASCADE"), primary_key=True)
    study_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(120))
    arm: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enrolled_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class StudyKey(Base):
    """The key table: which address has which study id. Kept apart, exportable, destroyable."""

    __tablename__ = "study_keys"
    __table_args__ = (UniqueConstraint("study_slug", "email"), {"sqlite_with_rowid": False})

    study_slug: Mapped[str] = mapped_column(ForeignKey("studies.slug", ondelete="CASCADE"), primary_key=True)
    study_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))


class StudyLink(Base):
    """A response of a confidential study's wave: the study id and arm it belongs to (never an address)."""

    __tablename__ = "study_links"
    __table_args__ = (UniqueConstraint("study_slug", "wave", "study_id"), {"sqlite_with_rowid": False})

    response_key: Mapped[str] = mapped_column(ForeignKey("responses.key", ondelete="CASCADE"), primary_key=True)
    study_slug: Mapped[str] = mapped_column(ForeignKey("studies.slug", ondelete="CASCADE"), index=True)
    wave: Mapped[int] = mapped_column(Integer)
    study_id: Mapped[str] = mapped_column(String(32))
    arm: Mapped[str | None] = mapped_column(String(64), nullable=True)


class StudyRandomization(Base):
    """A study's randomization: settings and seed sealed under a key file outside the database."""

    __tablename__ = "study_randomizations"

    study_slug: Mapped[str] = mapped_column(ForeignKey("studies.slug", ondelete="CASCADE"), primary_key=True)
    arms: Mapped[list[str]] = mapped_column(JSON)
    strata_by: Mapped[str] = mapped_column(String(64), default="")  # "" or "department"
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_on: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)


class StudyAllocation(Base):
    """A used place of the randomization list: who was enrolled there and the arm they got."""

    __tablename__ = "study_allocations"
    __table_args__ = (UniqueConstraint("study_slug", "study_id"),)

    study_slug: Mapped[str] = mapped_column(ForeignKey("studies.slug", ondelete="CASCADE"), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(120), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    block: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(64))
    study_id: Mapped[str] = mapped_column(String(32))
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
