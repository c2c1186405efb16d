"""A survey from start to finish on its page: the test link and its answers, the reminder sent now, closing.

The test link (:mod:`surveyapp.testmode`) lets the team answer the real pages, before the survey opens and
without an invitation; its answers are marked and deleted in one click. "Send the reminder now" and "Close the
survey" each lead to a page that says what will happen, with the figures, and a button that does it: a form
posted from anywhere else (without the ``confirm`` field) closes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from ..auth.access import allowed
from ..db import get_session
from ..invitations.sending import pending_count, prepare_reminders, reminder_batches, send_reminders
from ..models import Draft, Invitation, ParkedAnswer
from ..surveys import response_count
from ..testmode import delete_test_answers, new_test_link, test_answer_count, withdraw_test_link
from .forms import ActionForm
from .routes import WEB_SEND_SECONDS, _flash_report, _queued, _smtp, bp, survey_or_404

CONFIRM = "yes"  # the confirm pages' buttons send confirm=yes: the one thing a stray form lacks


@bp.post("/s/<slug>/test-link")
@allowed("survey_edit")
def test_link(slug: str) -> Any:
    """Make a new test link (the old one stops working), or withdraw it."""
    s = survey_or_404(slug)
    if ActionForm().validate_on_submit():
        if request.form.get("action") == "withdraw":
            withdraw_test_link(s)
            flash("The test link is withdrawn: it no longer opens the survey.", "info")
        else:
            new_test_link(get_session(), s)
            flash("A new test link is ready (any older one stopped working). Answers given through it are marked "
                  "as tests.", "info")
        get_session().commit()
    return redirect(url_for("admin.survey", slug=slug, _anchor="test"))


@bp.post("/s/<slug>/test-answers/delete")
@allowed("survey_edit")
def delete_tests(slug: str) -> Any:
    """Delete the survey's test answers, and rewrite the database so they leave no readable copy."""
    survey_or_404(slug)
    if ActionForm().validate_on_submit():
        deleted, warning = delete_test_answers(get_session(), slug)
        flash(f"{deleted} test answer{'s' if deleted != 1 else ''} deleted.", "info")
        if warning:
            flash(warning, "error")
    return redirect(url_for("admin.survey", slug=slug, _anchor="test"))


@bp.route("/s/<slug>/remind-now", methods=["GET", "POST"])
@allowed("survey_edit")
def remind_now(slug: str) -> Any:
    """Say who gets the reminder now and when it would otherwise go; send it to all of them when confirmed."""
    s = survey_or_404(slug)
    db = get_session()
    today = dt.date.today()
    if request.method == "POST":
        settings = _smtp()
        if not ActionForm().validate_on_submit() or request.form.get("confirm") != CONFIRM or settings is None:
            return redirect(url_for("admin.remind_now", slug=slug))
        if s.state(today) != "open":
            flash("The survey is not open: no reminders.", "error")
            return redirect(url_for("admin.survey", slug=slug))
        # Every invitee not reminded yet gets a pending reminder now, due or not; the sending (here, or the
        # worker's job, which sends every pending reminder) is the usual one: at most one reminder each, ever.
        prepare_reminders(db, s, today, due_only=False)
        if not _queued(s, "reminder"):
            report = send_reminders(db, s, settings, current_app.config["SURVEYKIT_BASE_URL"], today,
                                    due_only=False, budget_seconds=WEB_SEND_SECONDS)
            _flash_report("reminders", report)
        return redirect(url_for("admin.survey", slug=slug))
    batches = reminder_batches(db, s, today)
    waiting = pending_count(db, slug, "reminder")
    return render_template("admin/remind_now.html", survey=s, action=ActionForm(), batches=batches,
                           waiting=waiting, total=sum(b.invitees for b in batches) + waiting,
                           open=s.state(today) == "open", today=today)


@bp.get("/s/<slug>/close")
@allowed("survey_edit")
def close_confirm(slug: str) -> Any:
    """Say what closing erases and what stays, with the button that closes."""
    s = survey_or_404(slug)
    db = get_session()

    def count(query: Any) -> int:
        return db.scalar(select(func.count()).select_from(query.subquery())) or 0

    addresses = count(select(Invitation.key).where(Invitation.survey_slug == slug, Invitation.email.is_not(None)))
    unused = count(select(Invitation.key).where(Invitation.survey_slug == slug, Invitation.answered.is_(False),
                                                Invitation.token_hash.is_not(None)))
    drafts = count(select(Draft.key).where(Draft.survey_slug == slug))
    answers = response_count(db, slug) + count(select(ParkedAnswer.key).where(ParkedAnswer.survey_slug == slug))
    return render_template("admin/close.html", survey=s, action=ActionForm(), addresses=addresses, unused=unused,
                           drafts=drafts, answers=answers, tests=test_answer_count(db, slug))
