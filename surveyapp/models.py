"""Database tables of surveys, their anonymous responses, and the invitations that must not point to them.

Nothing that could identify a respondent is stored with a response: it keeps its answers, the instrument
version it was answered on and the day; its key is random, so row keys say nothing about order.

What the invitation tables store, and why nothing links an invitation to a response:

- ``invitations``: a random key, the survey, the address (erased when the survey closes), the department, the hash
  of the link's token, ``answered`` yes/no, and ``invited_on`` (the day the invitation went out, needed to know
  when the reminder is due; cleared once answered). No time of answering, no token.
- ``mail_deliveries``: one row per invitation and kind (invitation, reminder); the primary key makes a second
  reminder impossible. A row moves pending -> sending -> sent (or back to pending when the server did not take
  the message, or to uncertain/refused). Rows of an invitation are deleted when it is answered, so "was reminded,
  then answered" is never kept next to a person.
- ``mail_counts``: per-survey totals of messages the server accepted.
- ``drafts`` and ``parked_answers`` hold ciphertext only (keys outside the database); the final page burns the
  invitation and parks the sealed answers in one transaction, and a mixer moves parked answers into ``responses``
  in shuffled batches (``surveyapp.invitations.parking``), so no transaction writes an invitation and a readable
  response together.
- Every survey table here is WITHOUT ROWID on SQLite and keyed randomly, so storage order is key order.
  ``jobs`` (background work: a survey's name, a project's id, counts) holds nothing about a respondent.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from coding.store import NAMING


class Base(DeclarativeBase):
    # The coding tables' naming convention, so constraint names are predictable in every migration.
    metadata = MetaData(naming_convention=NAMING)


def random_key() -> str:
    """Return a random 128-bit key, URL-safe."""
    return secrets.token_urlsafe(16)


def utcnow() -> dt.datetime:
    """Return the time now in naive UTC, as the DateTime columns store it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class InstrumentVersion(Base):
    """The exact text of an instrument version that a survey serves, kept so old answers keep their meaning."""

    __tablename__ = "instrument_versions"
    __table_args__ = (UniqueConstraint("instrument_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    # Loaded only when asked for: each respondent's request reads the survey and its version, and the parsed
    # instrument comes from a per-process cache keyed by id and hash (surveys.instrument_of), not from this text.
    source_text: Mapped[str] = mapped_column(Text, deferred=True)
    # Saved on the instrument pages (surveyapp/instrument_list.py): such an instrument is offered from here, not
    # only from the instruments folder.
    uploaded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
    # The SHA-256 of the survey's test link's token (``/s/<slug>/test/<token>``), never the token; None: no link.
    test_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    instrument_version: Mapped[InstrumentVersion] = relationship(lazy="joined")

    def state(self, today: dt.date | None = None) -> str:
        """Return 'open', 'not_yet_open' or 'closed' on *today*."""
        return survey_state(self.closed, self.opens_on, self.closes_on, today)


def survey_state(closed: bool, opens_on: dt.date | None, closes_on: dt.date | None,
                 today: dt.date | None = None) -> str:
    """Return 'open', 'not_yet_open' or 'closed' on *today* for a survey with these flag and dates."""
    today = today or dt.date.today()
    if closed or (closes_on is not None and today > closes_on):
        return "closed"
    if opens_on is not None and today < opens_on:
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
    # Given through the survey's test link (surveyapp/testmode.py): counted nowhere unless asked for.
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def answers_of(slug: str, include_test: bool = False) -> Any:
    """Return the WHERE clause of survey *slug*'s responses: the real ones, test answers too when *include_test*."""
    clause = Response.survey_slug == slug
    return clause if include_test else clause & Response.test.is_(False)


class Draft(Base):
    """An answer sheet in progress, sealed (:mod:`surveyapp.drafts`): a random id and ciphertext, nothing else.

    The key is in the respondent's session cookie only; no invitation or token is stored with it. Deleted in the
    transaction that parks the answers, which also makes a second submission a no-op.
    """

    __tablename__ = "drafts"
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_on: Mapped[dt.date] = mapped_column(Date)


class ParkedAnswer(Base):
    """A finished answer sheet of an invitation-mode survey, sealed under the survey's parking key, waiting to be
    mixed into ``responses`` (:mod:`surveyapp.invitations.parking`). A random key, the survey, ciphertext: no day,
    no order, no invitation."""

    __tablename__ = "parked_answers"
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Invitation(Base):
    """One invitee of a survey: where to write, the department, and whether the link was used. No times."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("survey_slug", "email"), {"sqlite_with_rowid": False})

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    department: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    invited_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class Delivery(Base):
    """The state of one message (invitation or reminder) to one invitee; at most one row of each kind."""

    __tablename__ = "mail_deliveries"
    __table_args__ = {"sqlite_with_rowid": False}

    invitation_key: Mapped[str] = mapped_column(ForeignKey("invitations.key", ondelete="CASCADE"),
                                                primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    survey_slug: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    claim: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # Only while a worker holds the row; cleared when the message is marked sent.
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class MailCount(Base):
    """How many invitations and reminders of a survey the mail server accepted."""

    __tablename__ = "mail_counts"

    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), primary_key=True)
    invitations_sent: Mapped[int] = mapped_column(Integer, default=0)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)


class MailTemplate(Base):
    """A survey's own wording of one e-mail (subject, plain text, HTML), replacing the default."""

    __tablename__ = "mail_templates"

    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")


class InvitedCount(Base):
    """How many were invited to a survey by another channel (an e-mail of the study's own), per department.

    Recorded with ``surveykit surveys invited``; department "" holds a count not split by department. These are
    people who got no invitation from surveykit: the rates add them to the invitations sent here.
    """

    __tablename__ = "invited_counts"

    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), primary_key=True)
    department: Mapped[str] = mapped_column(String(120), primary_key=True)
    invited: Mapped[int] = mapped_column(Integer)


class ImportedCount(Base):
    """How many imported answers named each department (the option code of the `department` question; "" none).

    Counted in the import's transaction, so answers that came in without an invitation have a department in the
    rates of an invitation-mode survey too; a total per department, never a row per answer.
    """

    __tablename__ = "imported_counts"

    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), primary_key=True)
    department: Mapped[str] = mapped_column(String(120), primary_key=True)
    answered: Mapped[int] = mapped_column(Integer)


class ResultsLink(Base):
    """A revocable link to a survey's shared results page (``/results/<token>``): the token's hash, never the token.

    The link is shown once, when it is made; revoking sets ``revoked_at`` (kept, so the list says when).
    Nothing here is about a respondent.
    """

    __tablename__ = "results_links"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    survey_slug: Mapped[str] = mapped_column(ForeignKey("surveys.slug", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Job(Base):
    """A background job (``surveyapp.jobs``): its name and arguments, and where it stands.

    ``active`` holds the job's name and key while it is queued or running, and is cleared when it ends: being
    unique, it keeps a second copy of the same job from being queued meanwhile. A job is claimed by moving it
    from ``queued`` to ``running`` in one conditional UPDATE, so two workers never run the same one. Jobs hold
    survey names and project ids, never anything about a respondent.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(200), index=True)  # the job's key ("" none): a survey, a project
    active: Mapped[str | None] = mapped_column(String(270), unique=True, nullable=True)
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued, running, done, failed
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
