"""Sending invitations and the one reminder: claim a message, send it, mark the outcome, one at a time.

A claim is a conditional UPDATE (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never take the
same row. A worker killed while it held a claim leaves at most one row in ``sending``; once its lease runs out
that row becomes ``uncertain`` and is never sent again: the issue asks for at most one reminder "whatever
happens".
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..mail import Mailer, MailError, MaybeSent, SmtpSettings
from ..models import Delivery, Invitation, MailCount, Survey, utcnow
from .storage import hash_token
from .wording import render_email, survey_template

LEASE = dt.timedelta(minutes=10)
# Stop a batch after this many messages in a row were not taken: the server is down or throttling us.
MAX_FAILURES_IN_A_ROW = 3


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


def _worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def recover_stale(db: Session, now: dt.datetime | None = None) -> int:
    """Turn claims whose worker vanished into 'uncertain' (never resent); return how many."""
    now = now or utcnow()
    result = db.execute(update(Delivery).where(Delivery.state == "sending", Delivery.lease_until < now)
                        .values(state="uncertain", lease_until=None, claim=None,
                                last_error="the sending worker stopped before recording the outcome")
                        .execution_options(synchronize_session=False))
    db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
            row = _claim(db, slug, kind, claim, utcnow())
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
