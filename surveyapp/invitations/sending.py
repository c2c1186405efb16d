"""Sending invitations and the one reminder: claim a message, send it, mark the outcome, one at a time.

A claim is a conditional UPDATE (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never take the
same row. A row moves ``pending`` -> ``sending`` (claimed) -> ``handing`` (recorded just before the end of the
message is written) -> ``sent``. What can go wrong, and what becomes of the message:

* not taken (server unreachable, connection dropped before the end of the message was written, 4xx): back to
  ``pending``. A dropped connection or server trouble **stops the run**; the rest stay ``pending``, untouched,
  for the next run (the operator's rerun, cron's next turn).
* refused for good (5xx for this recipient): ``refused``, never sent.
* the end was written and the answer lost (the one window no SMTP client can close, RFC 1047): ``uncertain``.
  Sending it again could give two reminders, not sending it could give none; it is **held** with its
  Message-ID for a person to look up in the mail server's log and settle (:mod:`surveyapp.invitations.held`).
  The run stops there too, so at most one message per run is ever in doubt.
* the worker was killed: its claim is released on the next run (:mod:`surveyapp.invitations.claims`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..mail import Abandoned, Mailer, MailError, MaybeSent, SmtpSettings, new_message_id
from ..models import Delivery, Invitation, MailCount, Survey, utcnow
from .claims import LEASE, recover_stale, worker_id
from .storage import hash_token
from .wording import render_email, survey_template

# Stop a batch after this many messages in a row were not taken: the server is down or throttling us.
MAX_FAILURES_IN_A_ROW = 3


@dataclass
class SendReport:
    """What a sending run did; ``stopped`` says why it ended early (the server unreachable), if it did."""

    sent: int = 0
    not_taken: int = 0
    refused: int = 0
    uncertain: int = 0
    released: int = 0  # claims of stopped workers put back to pending before the run
    stopped: str = ""
    out_of_time: bool = False  # the time budget ran out; the rest wait, untouched, for the next run
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values (a job's result)."""
        return dataclasses.asdict(self)

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.not_taken += other.not_taken
        self.refused += other.refused
        self.uncertain += other.uncertain
        self.released += other.released
        self.stopped = self.stopped or other.stopped
        self.errors += other.errors


class InvitationError(ValueError):
    """An invitation action that cannot be done; the message says why."""


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


@dataclass(frozen=True)
class ReminderBatch:
    """The invitees invited on one day and not reminded yet: when their reminder is due, and how many they are."""

    invited_on: dt.date
    due_on: dt.date
    invitees: int


def reminder_batches(db: Session, survey: Survey, today: dt.date) -> list[ReminderBatch]:
    """Return, per day invitations went out, the invitees a reminder sent now would reach (none answered in
    invitation mode, none reminded already) and the day their reminder would otherwise be due."""
    waiting = _due(survey, today, False).subquery()
    rows = db.execute(select(Invitation.invited_on, func.count()).where(Invitation.key.in_(select(waiting.c.key)))
                      .group_by(Invitation.invited_on).order_by(Invitation.invited_on)).all()
    step = dt.timedelta(days=survey.reminder_days)
    return [ReminderBatch(day, day + step, n) for day, n in rows]


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

    Stops at the first dropped connection or message in doubt (the rest stay pending). With *budget_seconds*,
    stops claiming once that much time has passed (a web request must end before the server's timeout); what is
    left stays pending for the next run.
    """
    report = SendReport()
    stop_at = None if budget_seconds is None else time.monotonic() + budget_seconds
    slug = survey.slug
    subject, text, html = survey_template(db, slug, kind)
    worker = worker_id()
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
                                                  Delivery.kind == kind, Delivery.claim == claim))
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
            message_id = new_message_id(settings.sender)
            email = dataclasses.replace(render_email(subject, text, html, inv.email, _context(survey, inv, link)),
                                        message_id=message_id)
            key = inv.key
            db.commit()
            try:
                mailer.send(email, before_end=functools.partial(_handing, db, key, kind, claim, message_id))
            except MaybeSent as exc:
                _finish(db, key, kind, claim, "uncertain", f"{message_id} {exc}")
                report.uncertain += 1
                report.errors.append(f"{exc}; held as uncertain: look for Message-ID {message_id} in the mail "
                                     f"server's log, then 'surveykit surveys uncertain {slug}'")
                report.stopped = f"the mail server {settings.where} stopped answering"
                break
            except Abandoned:
                continue  # the claim was released under us (the lease ran out); whoever holds it now sends it
            except MailError as exc:
                state = "refused" if exc.permanent else "pending"
                _finish(db, key, kind, claim, state, str(exc))
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
                record_sent(db, slug, key, kind, today, claim)
                report.sent += 1
                failures_in_a_row = 0
            if progress is not None:
                progress(1)
    return report


def _handing(db: Session, key: str, kind: str, claim: str, message_id: str) -> bool:
    """Record that the message's end is about to be written; False when the claim is no longer ours."""
    done = db.execute(update(Delivery).where(Delivery.invitation_key == key, Delivery.kind == kind,
                                             Delivery.claim == claim, Delivery.state == "sending")
                      .values(state="handing", last_error=message_id)
                      .execution_options(synchronize_session=False))
    db.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _finish(db: Session, key: str, kind: str, claim: str, state: str, error: str) -> None:
    db.execute(update(Delivery).where(Delivery.invitation_key == key, Delivery.kind == kind,
                                      Delivery.claim == claim)
               .values(state=state, claim=None, lease_until=None, last_error=error[:500])
               .execution_options(synchronize_session=False))
    db.commit()


def record_sent(db: Session, slug: str, key: str, kind: str, today: dt.date, claim: str | None = None) -> bool:
    """Mark a message the server took as sent and count it (once); with *claim*, only if that claim holds it."""
    # The row may have gone (answered meanwhile) or turned uncertain (a run saw our lease run out, keeping the
    # claim); the server took the message all the same, so it counts.
    where = [Delivery.invitation_key == key, Delivery.kind == kind]
    where += [Delivery.claim == claim] if claim else [Delivery.state == "uncertain"]
    done = db.execute(update(Delivery).where(*where, Delivery.state != "sent")
                      .values(state="sent", claim=None, lease_until=None, last_error=None)
                      .execution_options(synchronize_session=False))
    if claim is not None or done.rowcount:  # type: ignore[attr-defined]
        if kind == "invitation":
            db.execute(update(Invitation).where(Invitation.key == key, Invitation.answered.is_(False))
                       .values(invited_on=today).execution_options(synchronize_session=False))
        column = MailCount.invitations_sent if kind == "invitation" else MailCount.reminders_sent
        db.execute(update(MailCount).where(MailCount.survey_slug == slug).values({column: column + 1})
                   .execution_options(synchronize_session=False))
    db.commit()
    return claim is not None or bool(done.rowcount)  # type: ignore[attr-defined]


def send_invitations(db: Session, survey: Survey, settings: SmtpSettings, base_url: str, today: dt.date,
                     progress: Callable[[int], None] | None = None,
                     budget_seconds: float | None = None) -> SendReport:
    """Send the survey's pending invitations."""
    if survey.state(today) != "open":
        raise InvitationError(f"survey '{survey.slug}' is {survey.state(today).replace('_', ' ')}: "
                              "invitations go out only while it is open")
    released = recover_stale(db)
    report = send_pending(db, survey, "invitation", settings, base_url, today, progress, budget_seconds)
    report.released = released.pending
    return report


def send_reminders(db: Session, survey: Survey, settings: SmtpSettings, base_url: str, today: dt.date,
                   due_only: bool = True, progress: Callable[[int], None] | None = None,
                   budget_seconds: float | None = None) -> SendReport:
    """Send the survey's one reminder to every invitee it is due for (all not yet reminded if not *due_only*)."""
    released = recover_stale(db)
    prepare_reminders(db, survey, today, due_only)
    report = send_pending(db, survey, "reminder", settings, base_url, today, progress, budget_seconds)
    report.released = released.pending
    return report


def invitations_sent(db: Session, slug: str) -> int:
    """Return how many invitations of a survey the mail server accepted."""
    row = db.get(MailCount, slug)
    return row.invitations_sent if row else 0


def open_with_invitees(db: Session, today: dt.date) -> list[Survey]:
    """Return the open surveys that have invitees, by slug (the ones whose due reminders a scheduled run sends)."""
    with_invitees = select(Invitation.survey_slug).distinct()
    return [s for s in db.scalars(select(Survey).where(Survey.slug.in_(with_invitees)).order_by(Survey.slug))
            if s.state(today) == "open"]


def send_due_reminders(db: Session, settings: SmtpSettings, base_url: str, today: dt.date,
                       surveys: list[Survey] | None = None, due_only: bool = True,
                       progress: Callable[[Survey, int], AbstractContextManager[Callable[[int], None]]] | None = None,
                       ) -> SendReport:
    """Send the reminders of *surveys* (every open one with invitees) that are due; stop at a dropped server.

    *progress*, given a survey and how many wait, opens what counts them off (the CLI's progress bar).
    """
    total = SendReport(released=recover_stale(db).pending)
    for survey in open_with_invitees(db, today) if surveys is None else surveys:
        prepare_reminders(db, survey, today, due_only=due_only)
        waiting = pending_count(db, survey.slug, "reminder")
        if not waiting:
            continue
        with progress(survey, waiting) if progress is not None else nullcontext(None) as bar:
            report = send_pending(db, survey, "reminder", settings, base_url, today, progress=bar)
        total.add(report)
        if report.stopped:
            break
    return total


def send_job(db: Session, config: Mapping[str, Any], slug: str, kind: str) -> dict[str, Any]:
    """Send a survey's pending invitations (*kind* "invitation") or its reminders, without a time limit (a job)."""
    survey = db.get(Survey, slug)
    if survey is None:
        raise InvitationError(f"no survey '{slug}'")
    settings, base, today = SmtpSettings.from_config(config), config["SURVEYKIT_BASE_URL"], dt.date.today()
    if kind == "invitation":
        report = send_invitations(db, survey, settings, base, today)
    elif kind == "reminder":
        report = send_reminders(db, survey, settings, base, today) if survey.state(today) == "open" else SendReport()
    else:
        raise InvitationError(f"kind '{kind}': invitation or reminder")
    return report.as_dict()
