"""Database tables of coding projects, with their own declarative base (the coding library never imports Flask).

A project holds units (one open-ended answer each), a hierarchical codebook, rounds (batches of units coded
blind), each coder's reviews of a unit (memo, and the codes applied), consensus decisions, the codebook audit
log, the re-review queue of split codes and the project's members (by account id). Coders are identified
by an e-mail string handed in by the caller.

Anonymity: a unit keeps the answer text and where it came from. For survey answers that is
``survey:<slug>:<question>:<response key>``; response keys are random, and each batch of new units is
numbered in key order, so neither a unit's position nor its id says when an answer arrived.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The naming convention of every table (surveyapp.models uses it too), so constraint names are predictable in
# migrations on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
EMAIL_LENGTH = 254


class CodingBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ProjectError(ValueError):
    """A coding action that cannot be done; the message says what and where."""


def utcnow() -> dt.datetime:
    """Return the current time in UTC, without tzinfo (SQLite keeps none)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class Project(CodingBase):
    """A coding project: units to code and a codebook."""

    __tablename__ = "coding_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(EMAIL_LENGTH), default="")

    sources: Mapped[list[Source]] = relationship(back_populates="project", cascade="all, delete-orphan",
                                                 order_by="Source.id")


class ProjectMember(CodingBase):
    """An account's place in a project: ``owner`` (manages it) or ``coder`` (codes in it)."""

    __tablename__ = "coding_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"), primary_key=True)
    # The account's id in the web edge's users table; no foreign key, as the coding tables keep their own
    # metadata (this library never imports the web's models), and accounts are disabled, never deleted.
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10))


class Source(CodingBase):
    """A survey question whose answers feed a project (so new answers can be added later)."""

    __tablename__ = "coding_sources"
    __table_args__ = (UniqueConstraint("project_id", "survey", "question", name="uq_coding_sources_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"))
    survey: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(100))

    project: Mapped[Project] = relationship(back_populates="sources")


class Unit(CodingBase):
    """One answer to code. ``respondent`` groups the units of one response (for % of respondents)."""

    __tablename__ = "coding_units"
    __table_args__ = (
        # Explicit names: the convention names a unique constraint after its first column only.
        UniqueConstraint("project_id", "source", name="uq_coding_units_source"),
        UniqueConstraint("project_id", "label", name="uq_coding_units_label"),
        UniqueConstraint("project_id", "position", name="uq_coding_units_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(400))
    source: Mapped[str] = mapped_column(String(400))
    respondent: Mapped[str] = mapped_column(String(400))
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class Code(CodingBase):
    """A code of a project's codebook; ``parent_id`` makes the hierarchy (domain -> theme -> subtheme)."""

    __tablename__ = "coding_codes"
    __table_args__ = (UniqueConstraint("project_id", "guid", name="uq_coding_codes_guid"),
                      Index("ix_coding_codes_parent", "project_id", "parent_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("coding_codes.id"), nullable=True)
    guid: Mapped[str] = mapped_column(String(38))
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    use_when: Mapped[str] = mapped_column(Text, default="")
    not_when: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str | None] = mapped_column(String(7), nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Round(CodingBase):
    """A batch of units that coders code blind, then compare; ``state`` is 'open' or 'closed'."""

    __tablename__ = "coding_rounds"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_coding_rounds_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RoundUnit(CodingBase):
    """Membership of a unit in a round (a unit may be in several rounds)."""

    __tablename__ = "coding_round_units"
    __table_args__ = (Index("ix_coding_round_units_unit", "unit_id"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("coding_rounds.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("coding_units.id", ondelete="CASCADE"), primary_key=True)


class Progress(CodingBase):
    """Whether a coder finished a round; finishing reveals the others' codes on its units to that coder."""

    __tablename__ = "coding_progress"

    round_id: Mapped[int] = mapped_column(ForeignKey("coding_rounds.id", ondelete="CASCADE"), primary_key=True)
    coder: Mapped[str] = mapped_column(String(EMAIL_LENGTH), primary_key=True)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Review(CodingBase):
    """A coder read a unit (possibly applying no code), with an optional memo."""

    __tablename__ = "coding_reviews"
    __table_args__ = (Index("ix_coding_reviews_coder", "coder", "unit_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("coding_units.id", ondelete="CASCADE"), primary_key=True)
    coder: Mapped[str] = mapped_column(String(EMAIL_LENGTH), primary_key=True)
    memo: Mapped[str] = mapped_column(Text, default="")


class Application(CodingBase):
    """A code applied by a coder to a unit; ``quote`` marks the unit as a representative quote for the code."""

    __tablename__ = "coding_applications"
    __table_args__ = (
        ForeignKeyConstraint(["unit_id", "coder"], ["coding_reviews.unit_id", "coding_reviews.coder"],
                             ondelete="CASCADE"),
        Index("ix_coding_applications_code", "code_id"),
    )

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coder: Mapped[str] = mapped_column(String(EMAIL_LENGTH), primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("coding_codes.id"), primary_key=True)
    quote: Mapped[bool] = mapped_column(Boolean, default=False)
    memo: Mapped[str] = mapped_column(Text, default="")


class Consensus(CodingBase):
    """The team's decision on a unit: its final codes, why, and who decided."""

    __tablename__ = "coding_consensus"

    unit_id: Mapped[int] = mapped_column(ForeignKey("coding_units.id", ondelete="CASCADE"), primary_key=True)
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ConsensusCode(CodingBase):
    """A code in a unit's consensus."""

    __tablename__ = "coding_consensus_codes"
    __table_args__ = (Index("ix_coding_consensus_codes_code", "code_id"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("coding_consensus.unit_id", ondelete="CASCADE"),
                                         primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("coding_codes.id"), primary_key=True)
    quote: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(CodingBase):
    """One codebook change: who, when, what (``action``, ``detail``), why, and the codebook after it."""

    __tablename__ = "coding_audit"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_coding_audit_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    who: Mapped[str] = mapped_column(String(EMAIL_LENGTH))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    why: Mapped[str] = mapped_column(Text, default="")
    # {guid: {"path", "definition", "use_when", "not_when", "example", "color", "retired"}} after the change.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Rereview(CodingBase):
    """An application of a split code waiting for its coder (or, with ``coder`` None, the consensus) to choose
    among the codes it was split into. Resolved entries keep what was chosen."""

    __tablename__ = "coding_rereview"
    __table_args__ = (Index("ix_coding_rereview_open", "project_id", "resolved"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("coding_projects.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("coding_units.id", ondelete="CASCADE"))
    coder: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH), nullable=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("coding_codes.id"))
    targets: Mapped[list[int]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(EMAIL_LENGTH), nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
