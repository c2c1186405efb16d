"""Database tables of surveys and their anonymous responses.

Nothing that could identify a respondent is stored here: a response keeps its answers, the instrument
version it was answered on and the day; its key is random, so row keys say nothing about order.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def random_key() -> str:
    """Return a random 128-bit key, URL-safe."""
    return secrets.token_urlsafe(16)


class InstrumentVersion(Base):
    """The exact text of an instrument version that a survey serves, kept so old answers keep their meaning."""

    __tablename__ = "instrument_versions"
    __table_args__ = (UniqueConstraint("instrument_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    source_text: Mapped[str] = mapped_column(Text)


class Survey(Base):
    """One instrument version served for a period at /s/<slug>."""

    __tablename__ = "surveys"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_versions.id"))
    mode: Mapped[str] = mapped_column(String(16), default="open")
    opens_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closes_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    reminder_days: Mapped[int] = mapped_column(Integer, default=7)
    created_on: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)

    instrument_version: Mapped[InstrumentVersion] = relationship(lazy="joined")

    def state(self, today: dt.date | None = None) -> str:
        """Return 'open', 'not_yet_open' or 'closed' on *today*."""
        today = today or dt.date.today()
        if self.closed or (self.closes_on is not None and today > self.closes_on):
            return "closed"
        if self.opens_on is not None and today < self.opens_on:
            return "not_yet_open"
        return "open"


class Response(Base):
    """One respondent's answers: no identity, no time finer than the day."""

    __tablename__ = "responses"
    # Without a rowid, SQLite stores rows in key order, which is random: storage order leaks nothing.
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[int] = mapped_column(Integer)
    instrument_sha256: Mapped[str] = mapped_column(String(64))
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)


class Draft(Base):
    """An answer sheet in progress, held server-side so long answers never sit in a cookie.

    Deleted in the same transaction that stores the response, which also makes a second submission a no-op.
    """

    __tablename__ = "drafts"
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    # In invitation mode, the invitation being answered (marked answered when the response is stored; the draft
    # and this link go away in that same transaction).
    invitation_key: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)
