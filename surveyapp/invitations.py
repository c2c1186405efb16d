"""Rosters, single-use invitations, the one reminder, and response rates that keep respondents anonymous.

What is stored, and why nothing links an invitation to a response:

- ``invitations``: a random key, the survey, the address (erased when the survey closes), the department, the hash
  of the link's token, ``answered`` yes/no, and ``invited_on`` (the day the invitation went out, needed to know
  when the reminder is due; cleared once answered). No time of answering, no token.
- ``mail_deliveries``: one row per invitation and kind (invitation, reminder); the primary key makes a second
  reminder impossible. A row moves pending -> sending -> sent (or back to pending when the server did not take
  the message, or to uncertain/refused). Rows of an invitation are deleted when it is answered, so "was reminded,
  then answered" is never kept next to a person.
- ``mail_counts``: per-survey totals of messages the server accepted.
- Responses keep their own random key and the day. Marking the invitation answered and storing the response
  commit together; on PostgreSQL, :func:`reshuffle_storage` then rewrites both tables' rows of the survey in one
  later transaction in random-key order, so neither the transaction ids (``xmin``) nor the physical order
  (``ctid``) pair an answered invitation with its response. On SQLite both tables are WITHOUT ROWID and keyed
  randomly, so storage order is key order.

Sending is claim, then send, then mark, one message at a time: a claim is a conditional UPDATE (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never take the same row. A worker killed while it held
a claim leaves at most one row in ``sending``; once its lease runs out that row becomes ``uncertain`` and is
never sent again: the issue asks for at most one reminder "whatever happens".
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import logging
import os
import re
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .mail import Email, Mailer, MailError, MaybeSent, SmtpSettings
from .models import Base, Response, Survey, random_key

logger = logging.getLogger(__name__)
KINDS = ("invitation", "reminder")
LEASE = dt.timedelta(minutes=10)
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
TEMPLATES = Path(__file__).parent / "templates" / "email"
DEFAULT_SUBJECTS = {"invitation": "Invitation: {{ survey_title }}", "reminder": "Reminder: {{ survey_title }}"}
# Stop a batch after this many messages in a row were not taken: the server is down or throttling us.
MAX_FAILURES_IN_A_ROW = 3


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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


# ---------------------------------------------------------------------------------------------------- rosters


class RosterError(ValueError):
    """A roster that cannot be imported; ``errors`` lists every bad line as 'file:line: what'."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class RosterEntry:
    line: int
    email: str
    department: str


def _csv_rows(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError([f"{source}: not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"]) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    for row in reader:
        yield reader.line_num, row


def _xlsx_rows(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise RosterError([f"{source}: not an Excel workbook ({type(exc).__name__})"]) from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else str(v) for v in row]
    finally:
        book.close()


def read_roster(data: bytes, source: str) -> list[RosterEntry]:
    """Parse a roster (CSV or XLSX with columns `email`, `department`); raise RosterError listing every bad line."""
    is_xlsx = source.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"
    rows = _xlsx_rows(data, source) if is_xlsx else _csv_rows(data, source)
    errors: list[str] = []
    entries: list[RosterEntry] = []
    header: dict[str, int] | None = None
    first_seen: dict[str, int] = {}
    for line, row in rows:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if header is None:
            header = {c.lower(): i for i, c in enumerate(cells) if c}
            missing = [c for c in ("email", "department") if c not in header]
            if missing:
                raise RosterError([f"{source}:{line}: the first row must name the columns 'email' and 'department' "
                                   f"(missing: {', '.join(missing)}; found: {', '.join(cells)})"])
            continue
        email = cells[header["email"]] if header["email"] < len(cells) else ""
        department = cells[header["department"]] if header["department"] < len(cells) else ""
        problems = []
        if not email:
            problems.append("missing e-mail address")
        elif not EMAIL_RE.match(email) or len(email) > 320:
            problems.append(f"malformed e-mail address '{email}'")
        if not department:
            problems.append("missing department")
        elif len(department) > 120:
            problems.append("department longer than 120 characters")
        folded = email.lower()
        if email and folded in first_seen:
            problems.append(f"duplicate of line {first_seen[folded]} ({email})")
        elif email:
            first_seen[folded] = line
        if problems:
            errors.append(f"{source}:{line}: {'; '.join(problems)}")
        else:
            entries.append(RosterEntry(line, folded, department))
    if header is None:
        raise RosterError([f"{source}: the roster is empty (expected a header row: email,department)"])
    if errors:
        raise RosterError(errors)
    if not entries:
        raise RosterError([f"{source}: the roster has a header but no invitees"])
    return entries


def import_roster(db: Session, survey: Survey, entries: list[RosterEntry], source: str) -> int:
    """Add the invitees of *entries* to *survey*, all or none; return how many were added (not committed)."""
    if survey.state() == "closed":
        raise RosterError([f"survey '{survey.slug}' is closed: it takes no new invitees"])
    known = set(db.scalars(select(Invitation.email).where(Invitation.survey_slug == survey.slug)))
    clashes = [f"{source}:{e.line}: {e.email} is already invited to this survey" for e in entries if e.email in known]
    if clashes:
        raise RosterError(clashes)
    invitations = [Invitation(key=random_key(), survey_slug=survey.slug, email=e.email, department=e.department,
                              answered=False) for e in entries]
    db.add_all(invitations)
    db.flush()  # the deliveries refer to the invitations (no ORM relationship orders the inserts)
    db.add_all(Delivery(invitation_key=inv.key, kind="invitation", survey_slug=survey.slug, state="pending",
                        attempts=0) for inv in invitations)
    if db.get(MailCount, survey.slug) is None:
        db.add(MailCount(survey_slug=survey.slug, invitations_sent=0, reminders_sent=0))
    db.flush()
    return len(entries)


# ------------------------------------------------------------------------------------------ links and answers


def hash_token(token: str) -> str:
    """Return the stored form of an invitation token (SHA-256: the token has 128 random bits, no need to slow it)."""
    return hashlib.sha256(token.encode()).hexdigest()


def find_invitation(db: Session, token: str) -> Invitation | None:
    """Return the invitation whose link carries *token*, or None for a forged or replaced token."""
    if not token or len(token) > 64:
        return None
    digest = hash_token(token)
    return db.scalar(select(Invitation).where(or_(Invitation.token_hash == digest,
                                                  Invitation.reminder_token_hash == digest)))


def mark_answered(db: Session, invitation_key: str) -> bool:
    """Lock the invitation and mark it answered, dropping its mail rows; False when it was answered already.

    Runs inside the transaction that stores the response, so both happen or neither does.
    """
    inv = db.scalar(select(Invitation).where(Invitation.key == invitation_key).with_for_update())
    if inv is None or inv.answered:
        return False
    inv.answered = True
    # The day of the invitation only served to time the reminder; kept after answering it would narrow down which
    # responses (by their day) could be this person's.
    inv.invited_on = None
    db.execute(delete(Delivery).where(Delivery.invitation_key == invitation_key))
    return True


def reshuffle_storage(db: Session, slug: str) -> None:
    """On PostgreSQL, rewrite the survey's answered invitations and responses in one transaction, in key order.

    The transaction that stores a response also marks its invitation, so both rows carry the same ``xmin`` and
    land at the end of their tables in answer order. Rewriting them all afterwards gives every row of the survey
    the same new ``xmin`` and puts the new row versions in random-key order. SQLite needs none of this.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    try:
        _rewrite_in_key_order(db, slug)
    except OperationalError:
        # The answer is stored already; a lock timeout or deadlock here only postpones the rewrite to the next
        # answer, which rewrites every row of the survey again. The respondent must not see an error for it.
        db.rollback()
        logger.warning("storage reshuffle of a survey postponed (lock conflict)")


def _rewrite_in_key_order(db: Session, slug: str) -> None:
    inv_keys = list(db.scalars(select(Invitation.key).where(Invitation.survey_slug == slug, Invitation.answered)
                               .order_by(Invitation.key).with_for_update()))
    resp_keys = list(db.scalars(select(Response.key).where(Response.survey_slug == slug)
                                .order_by(Response.key).with_for_update()))
    # Row by row in key order (one executemany each), so the new row versions are written in that order.
    if inv_keys:
        db.execute(update(Invitation), [{"key": k, "answered": True} for k in inv_keys])
    if resp_keys:
        db.execute(update(Response), [{"key": k, "survey_slug": slug} for k in resp_keys])
    db.commit()


# ------------------------------------------------------------------------------------------------- templates

_sandbox = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_sandbox_html = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


def default_template(kind: str) -> tuple[str, str, str]:
    """Return the shipped (subject, text, html) of *kind*."""
    return (DEFAULT_SUBJECTS[kind], (TEMPLATES / f"{kind}.txt").read_text(encoding="utf-8"),
            (TEMPLATES / f"{kind}.html").read_text(encoding="utf-8"))


def survey_template(db: Session, slug: str, kind: str) -> tuple[str, str, str]:
    """Return the survey's (subject, text, html) of *kind*: its own wording, else the default."""
    row = db.get(MailTemplate, (slug, kind))
    if row is None:
        return default_template(kind)
    return row.subject, row.text_body, row.html_body


def check_template(subject: str, text: str, html: str) -> list[str]:
    """Return what is wrong with an investigator's wording (syntax errors by part and line; the link missing)."""
    problems = []
    for part, source, env in (("subject", subject, _sandbox), ("plain text", text, _sandbox),
                              ("HTML", html, _sandbox_html)):
        try:
            env.from_string(source)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            problems.append(f"{part}{f' line {line}' if line else ''}: {exc}")
    if not subject.strip():
        problems.append("subject: empty")
    if not problems:
        if "link" not in meta.find_undeclared_variables(_sandbox.parse(text)):
            problems.append("plain text: must contain {{ link }}, or invitees get no way to answer")
        if html.strip() and "link" not in meta.find_undeclared_variables(_sandbox_html.parse(html)):
            problems.append("HTML: must contain {{ link }} (or leave the HTML empty to send plain text only)")
    if not problems:
        try:
            render_email(subject, text, html, "x@example.org", _sample_context())
        except TemplateError as exc:
            problems.append(f"cannot be filled in: {exc}")
    return problems


def _sample_context() -> dict[str, Any]:
    return {"survey_title": "Survey", "link": "https://example.org/i/TOKEN", "department": "Department",
            "closes_on": dt.date.today(), "open_mode": False}


def render_email(subject: str, text: str, html: str, to: str, context: dict[str, Any]) -> Email:
    """Fill in a template triple in the sandbox (investigators edit them: no access to Python objects)."""
    subject_text = " ".join(_sandbox.from_string(subject).render(context).split())
    body = _sandbox.from_string(text).render(context)
    html_body = _sandbox_html.from_string(html).render(context) if html.strip() else None
    return Email(to=to, subject=subject_text, text=body, html=html_body)


def save_template(db: Session, slug: str, kind: str, subject: str, text: str, html: str) -> None:
    """Keep a survey's own wording of *kind* after checking it (raises ValueError listing the problems)."""
    problems = check_template(subject, text, html)
    if problems:
        raise ValueError("; ".join(problems))
    row = db.get(MailTemplate, (slug, kind))
    if row is None:
        db.add(MailTemplate(survey_slug=slug, kind=kind, subject=subject, text_body=text, html_body=html))
    else:
        row.subject, row.text_body, row.html_body = subject, text, html


# -------------------------------------------------------------------------------------------------- sending


@dataclass
class SendReport:
    """What a sending run did; ``stopped`` says why it ended early (the server unreachable), if it did."""

    sent: int = 0
    not_taken: int = 0
    refused: int = 0
    uncertain: int = 0
    stopped: str = ""
    out_of_time: bool = False  # the time budget ran out; the rest wait, untouched, for the next run
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.not_taken += other.not_taken
        self.refused += other.refused
        self.uncertain += other.uncertain
        self.stopped = self.stopped or other.stopped
        self.errors += other.errors


class InvitationError(ValueError):
    """An invitation action that cannot be done; the message says why."""


def _rowcount(result: Any) -> int:
    # An UPDATE's result is a CursorResult; Session.execute is typed as returning the general Result.
    return int(result.rowcount or 0)


def _worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def recover_stale(db: Session, now: dt.datetime | None = None) -> int:
    """Turn claims whose worker vanished into 'uncertain' (never resent); return how many."""
    now = now or _utcnow()
    n = _rowcount(db.execute(update(Delivery).where(Delivery.state == "sending", Delivery.lease_until < now)
                             .values(state="uncertain", lease_until=None, claim=None,
                                     last_error="the sending worker stopped before recording the outcome")
                             .execution_options(synchronize_session=False)))
    db.commit()
    return n or 0


def prepare_reminders(db: Session, survey: Survey, today: dt.date, due_only: bool = True) -> int:
    """Add a pending reminder for every invitee whose reminder is due and who has none yet; return how many tried."""
    if survey.state(today) != "open":
        return 0
    keys = list(db.scalars(_due(survey, today, due_only)))
    if not keys:
        return 0
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [{"invitation_key": k, "kind": "reminder", "survey_slug": survey.slug, "state": "pending",
             "attempts": 0} for k in keys]
    # Two workers preparing at once both try to add the same rows: the primary key keeps one, the other is skipped.
    db.execute(insert(Delivery).on_conflict_do_nothing(), rows)
    db.commit()
    return len(rows)


def due_reminders(db: Session, survey: Survey, today: dt.date) -> int:
    """Return how many reminders are due (or waiting after a failed attempt) for *survey* on *today*."""
    if survey.state(today) != "open":
        return 0
    due = db.scalar(select(func.count()).select_from(_due(survey, today, True).subquery())) or 0
    return due + pending_count(db, survey.slug, "reminder")


def _due(survey: Survey, today: dt.date, due_only: bool) -> Any:
    q = select(Invitation.key).where(Invitation.survey_slug == survey.slug, Invitation.email.is_not(None),
                                     Invitation.invited_on.is_not(None))
    if survey.mode == "invitation":
        q = q.where(Invitation.answered.is_(False))
    if due_only:
        q = q.where(Invitation.invited_on <= today - dt.timedelta(days=survey.reminder_days))
    has_reminder = select(Delivery.invitation_key).where(Delivery.survey_slug == survey.slug,
                                                         Delivery.kind == "reminder")
    return q.where(Invitation.key.not_in(has_reminder))


def pending_count(db: Session, slug: str, kind: str) -> int:
    """Return how many messages of *kind* wait to be sent for a survey."""
    return db.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.survey_slug == slug, Delivery.kind == kind, Delivery.state == "pending")) or 0


def _claim(db: Session, slug: str, kind: str, claim: str, now: dt.datetime) -> Delivery | None:
    db.commit()  # each claim is its own short transaction
    pick = select(Delivery.invitation_key).where(Delivery.survey_slug == slug, Delivery.kind == kind,
                                                 Delivery.state == "pending").limit(1)
    if db.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # A conditional UPDATE: whichever worker commits first owns the row; the other's WHERE no longer matches.
    # "= (subquery)", not "IN (subquery)": PostgreSQL may rerun an IN subquery per row, claiming them all.
    db.execute(update(Delivery).where(Delivery.kind == kind, Delivery.state == "pending",
                                      Delivery.invitation_key == pick.scalar_subquery())
               .values(state="sending", claim=claim, lease_until=now + LEASE, attempts=Delivery.attempts + 1)
               .execution_options(synchronize_session=False))
    return db.scalar(select(Delivery).where(Delivery.claim == claim, Delivery.state == "sending")
                     .execution_options(populate_existing=True))


def _context(survey: Survey, inv: Invitation, link: str) -> dict[str, Any]:
    return {"survey_title": survey.title, "link": link, "department": inv.department,
            "closes_on": survey.closes_on, "open_mode": survey.mode == "open"}


def send_pending(db: Session, survey: Survey, kind: str, settings: SmtpSettings, base_url: str,
                 today: dt.date, progress: Callable[[int], None] | None = None,
                 budget_seconds: float | None = None) -> SendReport:
    """Send every pending message of *kind* for *survey*: claim one, send it, record the outcome, repeat.

    With *budget_seconds*, stop claiming once that much time has passed (a web request must end before the
    server's timeout); what is left stays pending for the next run.
    """
    report = SendReport()
    stop_at = None if budget_seconds is None else time.monotonic() + budget_seconds
    slug = survey.slug
    subject, text, html = survey_template(db, slug, kind)
    worker = _worker_id()
    failures_in_a_row = 0
    base = base_url.rstrip("/")
    with Mailer(settings) as mailer:
        for n in itertools.count():
            if stop_at is not None and time.monotonic() >= stop_at:
                report.out_of_time = True
                break
            claim = f"{worker}:{n}"
            row = _claim(db, slug, kind, claim, _utcnow())
            if row is None:
                db.commit()
                break
            inv = db.scalar(select(Invitation).where(Invitation.key == row.invitation_key)
                            .execution_options(populate_existing=True))
            if inv is None or inv.email is None or (kind == "reminder" and inv.answered):
                db.execute(delete(Delivery).where(Delivery.invitation_key == row.invitation_key,
                                                  Delivery.kind == kind))
                db.commit()
                continue
            if survey.mode == "invitation":
                # Tokens are kept only as hashes, so each message carries a fresh one; the invitation's and the
                # reminder's links both work (an earlier attempt's token was never accepted, so never seen).
                token = secrets.token_urlsafe(16)
                link = f"{base}/i/{token}"
                if kind == "invitation":
                    inv.token_hash = hash_token(token)
                else:
                    inv.reminder_token_hash = hash_token(token)
            else:
                link = f"{base}/s/{slug}"
            email = render_email(subject, text, html, inv.email, _context(survey, inv, link))
            db.commit()
            try:
                mailer.send(email)
            except MaybeSent as exc:
                _finish(db, row.invitation_key, kind, claim, "uncertain", str(exc))
                report.uncertain += 1
                report.errors.append(str(exc))
                failures_in_a_row = 0
            except MailError as exc:
                state = "refused" if exc.permanent else "pending"
                _finish(db, row.invitation_key, kind, claim, state, str(exc))
                if exc.permanent:
                    report.refused += 1
                    report.errors.append(str(exc))
                    failures_in_a_row = 0
                else:
                    report.not_taken += 1
                    failures_in_a_row += 1
                    if exc.connection or failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                        report.stopped = str(exc)
                        break
            else:
                _mark_sent(db, survey, inv.key, kind, claim, today)
                report.sent += 1
                failures_in_a_row = 0
            if progress is not None:
                progress(1)
    return report


def _finish(db: Session, key: str, kind: str, claim: str, state: str, error: str) -> None:
    db.execute(update(Delivery).where(Delivery.invitation_key == key, Delivery.kind == kind,
                                      Delivery.claim == claim)
               .values(state=state, claim=None, lease_until=None, last_error=error[:500])
               .execution_options(synchronize_session=False))
    db.commit()


def _mark_sent(db: Session, survey: Survey, key: str, kind: str, claim: str, today: dt.date) -> None:
    # The row may have gone (answered meanwhile) or turned uncertain (lease ran out); the server took the
    # message all the same, so it counts.
    db.execute(update(Delivery).where(Delivery.invitation_key == key, Delivery.kind == kind,
                                      Delivery.claim == claim)
               .values(state="sent", claim=None, lease_until=None, last_error=None)
               .execution_options(synchronize_session=False))
    if kind == "invitation":
        db.execute(update(Invitation).where(Invitation.key == key, Invitation.answered.is_(False))
                   .values(invited_on=today).execution_options(synchronize_session=False))
    column = MailCount.invitations_sent if kind == "invitation" else MailCount.reminders_sent
    db.execute(update(MailCount).where(MailCount.survey_slug == survey.slug).values({column: column + 1})
               .execution_options(synchronize_session=False))
    db.commit()


def send_invitations(db: Session, survey: Survey, settings: SmtpSettings, base_url: str, today: dt.date,
                     progress: Callable[[int], None] | None = None,
                     budget_seconds: float | None = None) -> SendReport:
    """Send the survey's pending invitations."""
    if survey.state(today) != "open":
        raise InvitationError(f"survey '{survey.slug}' is {survey.state(today).replace('_', ' ')}: "
                              "invitations go out only while it is open")
    recover_stale(db)
    return send_pending(db, survey, "invitation", settings, base_url, today, progress, budget_seconds)


def send_reminders(db: Session, survey: Survey, settings: SmtpSettings, base_url: str, today: dt.date,
                   due_only: bool = True, progress: Callable[[int], None] | None = None,
                   budget_seconds: float | None = None) -> SendReport:
    """Send the survey's one reminder to every invitee it is due for (all not yet reminded if not *due_only*)."""
    recover_stale(db)
    prepare_reminders(db, survey, today, due_only)
    return send_pending(db, survey, "reminder", settings, base_url, today, progress, budget_seconds)


def invitations_sent(db: Session, slug: str) -> int:
    """Return how many invitations of a survey the mail server accepted."""
    row = db.get(MailCount, slug)
    return row.invitations_sent if row else 0


def close_survey(db: Session, survey: Survey) -> int:
    """Close a survey and erase its invitees' addresses (counts stay); return how many were erased."""
    survey.closed = True
    erased = _rowcount(db.execute(update(Invitation).where(Invitation.survey_slug == survey.slug,
                                                           Invitation.email.is_not(None))
                                  .values(email=None).execution_options(synchronize_session=False)))
    db.execute(delete(Delivery).where(Delivery.survey_slug == survey.slug,
                                      Delivery.state.in_(("pending", "uncertain", "refused"))))
    db.commit()
    reshuffle_storage(db, survey.slug)  # in case the last answer's rewrite was postponed
    return erased


# -------------------------------------------------------------------------------------------- response rates


def _rate(answered: int, invited: int) -> float | None:
    return round(100.0 * answered / invited, 1) if invited else None


def survey_status(db: Session, survey: Survey, min_cell: int, exact: bool = False) -> dict[str, Any]:
    """Return invited, answered, rate (per department and overall) and mail counts, hiding counts below *min_cell*.

    ``exact`` shows every count as it is (for the survey's owner at the command line only).
    """
    slug = survey.slug
    invited_rows = db.execute(
        select(Invitation.department, func.count()).where(
            Invitation.survey_slug == slug, (Invitation.answered.is_(True)) | (Invitation.invited_on.is_not(None)))
        .group_by(Invitation.department)).all()
    answered_rows = db.execute(
        select(Invitation.department, func.count()).where(Invitation.survey_slug == slug,
                                                          Invitation.answered.is_(True))
        .group_by(Invitation.department)).all()
    invited = {d: n for d, n in invited_rows}
    answered = {d: n for d, n in answered_rows}
    states = Counter({(k, s): n for k, s, n in db.execute(
        select(Delivery.kind, Delivery.state, func.count()).where(Delivery.survey_slug == slug)
        .group_by(Delivery.kind, Delivery.state)).all()})
    counts = db.get(MailCount, slug)
    roster = db.scalar(select(func.count()).select_from(Invitation).where(Invitation.survey_slug == slug)) or 0
    total_invited = sum(invited.values())
    if survey.mode == "invitation":
        total_answered: int | None = sum(answered.values())
    else:
        total_answered = db.scalar(select(func.count()).select_from(Response)
                                   .where(Response.survey_slug == slug)) or 0
    departments: dict[str, dict[str, Any]] = {}
    for dept in sorted(set(invited) | set(answered)):
        a = answered.get(dept, 0) if survey.mode == "invitation" else None
        departments[dept] = {"invited": invited.get(dept, 0), "answered": a,
                             "response_rate": _rate(a, invited.get(dept, 0)) if a is not None else None}
    status: dict[str, Any] = {
        "survey": slug, "title": survey.title, "mode": survey.mode, "state": survey.state(),
        "roster": roster, "invited": total_invited, "answered": total_answered,
        "response_rate": _rate(total_answered, total_invited) if total_answered is not None else None,
        "reminders_sent": counts.reminders_sent if counts else 0,
        "invitations_waiting": states[("invitation", "pending")],
        "reminders_waiting": states[("reminder", "pending")],
        "uncertain": states[("invitation", "uncertain")] + states[("reminder", "uncertain")],
        "refused": states[("invitation", "refused")] + states[("reminder", "refused")],
        "min_cell": min_cell, "exact": exact, "departments": departments,
    }
    if not exact:
        suppress(status, min_cell)
    return status


def _small(n: Any, k: int) -> bool:
    return isinstance(n, int) and n < k


def suppress(status: dict[str, Any], k: int) -> None:
    """Replace counts below *k* by '<k' (and their rates by None) so that no small group can be singled out.

    When only one department's count is hidden, the next smallest is hidden too: otherwise the hidden one is the
    total minus the others.
    """
    label = f"<{k}"
    depts = status["departments"]
    for field_name in ("invited", "answered"):
        hidden = {d for d, row in depts.items() if _small(row[field_name], k)}
        if len(hidden) == 1 and len(depts) > 1 and _small(status[field_name], k) is False:
            others = [d for d, row in depts.items() if d not in hidden and isinstance(row[field_name], int)]
            if others:
                hidden.add(min(others, key=lambda d: (depts[d][field_name], d)))
        for d in hidden:
            depts[d][field_name] = label
            depts[d]["response_rate"] = None
    for field_name in ("invited", "answered"):
        if _small(status[field_name], k):
            status[field_name] = label
            status["response_rate"] = None
