"""Views of the investigators' pages: they parse the request, call surveys/invitations, and pick the page."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms import SelectChoice

from instrument import Broken, InvalidInstrument

from .. import jobs
from ..auth.access import allowed, can, require, visible_surveys
from ..auth.members import SURVEY_ACCOUNTS, SURVEY_ROLES, SurveyMember, team_form
from ..auth.models import User
from ..auth.routes import current_user
from ..db import get_session
from ..instrument_list import offered
from ..invitations.parking import ParkingError
from ..invitations.rates import survey_status
from ..invitations.roster import RosterError, import_roster, read_roster
from ..invitations.sending import (
    InvitationError,
    SendReport,
    due_reminders,
    pending_count,
    reminder_batches,
    send_invitations,
    send_reminders,
)
from ..invitations.wording import (
    KINDS,
    confidential_wave,
    default_template,
    sample_email,
    sample_link,
    save_template,
    survey_template,
    survey_wording_problems,
)
from ..mail import Mailer, MailError, MaybeSent, SmtpSettings, wrap_text
from ..models import MailTemplate, Survey
from ..security import mail_preview_frame
from ..surveys import SurveyError, close_survey, create_survey
from ..testmode import my_test_link, new_test_link, test_answer_count
from .forms import ActionForm, CreateSurveyForm, MailTemplateForm, RosterForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_ROSTER_BYTES = 5 * 1024 * 1024


def survey_or_404(slug: str) -> Survey:
    survey = get_session().get(Survey, slug)
    if survey is None:
        abort(404, f"There is no survey '{slug}'.")
    return survey


def _min_cell() -> int:
    return int(current_app.config["SURVEYKIT_MIN_CELL"])


def _status(s: Survey, user: User) -> dict[str, Any]:
    """Return the survey's rates as *user* may see them: exact for admins and investigators (the survey's team,
    who hold the raw answers), suppressed by the one rule for anyone else (a viewer sees shared results only)."""
    return survey_status(get_session(), s, _min_cell(), exact=user.role in ("admin", "investigator"))


@bp.get("/")
@allowed("survey_list")
def surveys() -> Any:
    """List every survey with its state and (suppressed) response rate."""
    db = get_session()
    query = select(Survey).order_by(Survey.created_on.desc(), Survey.slug)
    user = require("survey_list")
    shown = visible_surveys(db, user)
    if shown is not None:
        query = query.where(Survey.slug.in_(shown))
    rows = db.scalars(query).all()
    return render_template("admin/surveys.html", rows=[(s, _status(s, user)) for s in rows])


def _instrument_choices() -> tuple[list[SelectChoice], list[Broken]]:
    """Return the choices of instruments that load, and the files that do not (named on the page)."""
    shelf = offered(get_session(), Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"]), lambda p: p.name).shelf
    choices = [SelectChoice(i.id, f"{i.title} ({i.id} v{i.version})") for i in shelf.instruments]
    return sorted(choices, key=lambda c: c.label), list(shelf.broken)


@bp.route("/new", methods=["GET", "POST"])
@allowed("survey_create")
def new_survey() -> Any:
    """Open a new survey of an instrument."""
    form = CreateSurveyForm()
    form.instrument.choices, broken = _instrument_choices()
    if form.validate_on_submit():
        db = get_session()
        try:
            survey = create_survey(db, Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"]), form.instrument.data,
                                   form.slug.data or "", form.title.data or "", mode=form.mode.data or "invitation",
                                   opens_on=form.opens.data, closes_on=form.closes.data,
                                   reminder_days=form.reminder_days.data or 0)
        except (SurveyError, InvalidInstrument) as exc:
            db.rollback()
            flash(str(exc), "error")
            return render_template("admin/new.html", form=form, broken=broken), 422
        # The creator owns the survey (an admin sees every survey anyway, but is named its owner all the same).
        db.add(SurveyMember(user_id=require("survey_create").id, survey_slug=survey.slug, role="owner"))
        new_test_link(db, survey)  # shown on the survey's page to its creator, to try it before it opens
        db.commit()
        flash(f"Survey '{survey.slug}' created.", "info")
        return redirect(url_for("admin.survey", slug=survey.slug))
    return render_template("admin/new.html", form=form, broken=broken), 422 if form.is_submitted() else 200


@bp.get("/s/<slug>")
@allowed("survey_view")
def survey(slug: str) -> Any:
    """Show a survey: response rates, roster, sending, e-mail wording, downloads."""
    db = get_session()
    s = survey_or_404(slug)
    user = require("survey_view", survey=slug)
    today = dt.date.today()
    downloads = None
    if "downloads" in current_app.blueprints:
        downloads = {"xlsx": url_for("downloads.survey_xlsx", slug=slug),
                     "csv": url_for("downloads.survey_csv", slug=slug)}
    editor = can(db, user, "survey_edit", survey=slug)
    return render_template(
        "admin/survey.html", survey=s, status=_status(s, user), action=ActionForm(),
        roster_form=RosterForm(), waiting=pending_count(db, slug, "invitation"),
        due=due_reminders(db, s, today), kinds=KINDS, downloads=downloads, editor=editor,
        tests=test_answer_count(db, slug), test_link=my_test_link(s) if editor else None,
        batches=reminder_batches(db, s, today) if s.state(today) == "open" else [], today=today,
        sending={kind: jobs.latest(db, "invitations.send", f"{slug}:{kind}") for kind in ("invitation", "reminder")},
        custom={k for k in KINDS if db.get(MailTemplate, (slug, k)) is not None},
        base_url=current_app.config["SURVEYKIT_BASE_URL"].rstrip("/"), **_team(slug))


def _team(slug: str) -> dict[str, Any]:
    """Return what the survey page shows of its team: members, and the form to add one when I may."""
    db = get_session()
    rows = db.execute(select(User, SurveyMember.role).join(SurveyMember, SurveyMember.user_id == User.id)
                      .where(SurveyMember.survey_slug == slug).order_by(User.email)).all()
    form = None
    if can(db, require("survey_view", survey=slug), "survey_members", survey=slug):
        form = team_form(db, SURVEY_ACCOUNTS, SURVEY_ROLES)
    return {"members": rows, "member_form": form}


@bp.post("/s/<slug>/close")
@allowed("survey_edit")
def close(slug: str) -> Any:
    """Close the survey and erase its invitees' addresses (only from the confirm page: confirm=yes)."""
    if ActionForm().validate_on_submit() and request.form.get("confirm") != "yes":
        flash("Nothing was closed: confirm on this page.", "error")
        return redirect(url_for("admin.close_confirm", slug=slug))
    if ActionForm().validate_on_submit():
        try:
            closed = close_survey(get_session(), survey_or_404(slug))
        except ParkingError as exc:
            flash(f"Survey closed, but {exc}", "error")
            return redirect(url_for("admin.survey", slug=slug))
        erased = closed.erased
        flash(f"Survey closed; {erased} invitee addresses erased." if erased else "Survey closed.", "info")
        if closed.warning:
            flash(closed.warning, "error")
    return redirect(url_for("admin.survey", slug=slug))


@bp.post("/s/<slug>/open")
@allowed("survey_edit")
def reopen(slug: str) -> Any:
    """Open a closed survey again (links that were not used work again; erased addresses stay erased)."""
    if ActionForm().validate_on_submit():
        s = survey_or_404(slug)
        s.closed = False
        get_session().commit()
        flash("Survey open." if s.state() == "open" else f"Survey set to open; it is {s.state().replace('_', ' ')} "
              "by its dates.", "info")
    return redirect(url_for("admin.survey", slug=slug))


@bp.post("/s/<slug>/roster")
@allowed("survey_edit")
def upload_roster(slug: str) -> Any:
    """Add the invitees of an uploaded roster: all of them, or none when any line is wrong."""
    s = survey_or_404(slug)
    form = RosterForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(f"Roster: {e}", "error")
        return redirect(url_for("admin.survey", slug=slug))
    upload = form.roster.data
    name = Path(upload.filename or "roster.csv").name
    data = upload.read(MAX_ROSTER_BYTES + 1)
    db = get_session()
    if len(data) > MAX_ROSTER_BYTES:
        flash(f"{name}: larger than {MAX_ROSTER_BYTES // (1024 * 1024)} MB; nothing imported.", "error")
        return redirect(url_for("admin.survey", slug=slug))
    try:
        added = import_roster(db, s, read_roster(data, name), name)
    except RosterError as exc:
        db.rollback()
        return render_template("admin/roster_errors.html", survey=s, name=name, errors=exc.errors), 422
    db.commit()
    flash(f"{added} invitees added from {name}. Nothing has been sent yet.", "info")
    return redirect(url_for("admin.survey", slug=slug))


# Without a broker, a web request sends in slices: it must finish well inside gunicorn's default 30-second worker
# timeout (the CLI and `surveykit worker` have no such limit).
WEB_SEND_SECONDS = 20.0


def _flash_report(what: str, report: SendReport) -> None:
    flash(f"{report.sent} {what} sent.", "info")
    if report.out_of_time:
        flash(f"More {what} are waiting: press the button again to send the next batch, or run "
              "'surveykit surveys invite' / 'surveykit surveys remind' from a terminal.", "info")
    if report.refused:
        flash(f"{report.refused} refused for good by the mail server (not retried).", "error")
    if report.uncertain:
        flash(f"{report.uncertain} uncertain: handed over, and the server's answer never came. Held, not sent "
              "again: look its Message-ID up in the mail server's log ('surveykit surveys uncertain').", "error")
    if report.stopped:
        flash(f"Stopped: {report.stopped}. Nothing the server did not accept counts as sent; the rest wait for the "
              "next try.", "error")


def _queued(s: Survey, kind: str) -> bool:
    """With a broker, queue the sending for `surveykit worker` and say so; without one, return False (send here)."""
    if not jobs.broker_url():
        return False
    if kind == "invitation" and s.state(dt.date.today()) != "open":
        flash(f"survey '{s.slug}' is {s.state(dt.date.today()).replace('_', ' ')}: invitations go out only while it "
              "is open", "error")
        return True
    jobs.enqueue("invitations.send", key=f"{s.slug}:{kind}", slug=s.slug, kind=kind)
    flash(f"Sending the {kind}s in the background: this page shows how far it got.", "info")
    return True


def _smtp() -> SmtpSettings | None:
    try:
        return SmtpSettings.from_config(current_app.config)
    except MailError as exc:
        flash(str(exc), "error")
        return None


@bp.post("/s/<slug>/invite")
@allowed("survey_edit")
def invite(slug: str) -> Any:
    """Send the invitations waiting to go out."""
    s = survey_or_404(slug)
    settings = _smtp()
    if ActionForm().validate_on_submit() and settings is not None and not _queued(s, "invitation"):
        try:
            report = send_invitations(get_session(), s, settings, current_app.config["SURVEYKIT_BASE_URL"],
                                      dt.date.today(), budget_seconds=WEB_SEND_SECONDS)
        except InvitationError as exc:
            flash(str(exc), "error")
        else:
            _flash_report("invitations", report)
    return redirect(url_for("admin.survey", slug=slug))


@bp.post("/s/<slug>/remind")
@allowed("survey_edit")
def remind(slug: str) -> Any:
    """Send the reminders that are due (each invitee gets at most one, ever)."""
    s = survey_or_404(slug)
    settings = _smtp()
    if ActionForm().validate_on_submit() and settings is not None:
        today = dt.date.today()
        if s.state(today) != "open":
            flash("The survey is not open: no reminders.", "error")
        elif not _queued(s, "reminder"):
            report = send_reminders(get_session(), s, settings, current_app.config["SURVEYKIT_BASE_URL"], today,
                                    budget_seconds=WEB_SEND_SECONDS)
            _flash_report("reminders", report)
    return redirect(url_for("admin.survey", slug=slug))


@bp.route("/s/<slug>/mail/<kind>", methods=["GET", "POST"])
@allowed("survey_edit")
def mail_template(slug: str, kind: str) -> Any:
    """Edit the survey's wording of the invitation or the reminder."""
    s, confidential, form = _mail_editor(slug, kind)
    db = get_session()
    if request.method == "GET":
        form.subject.data, form.text_body.data, form.html_body.data = survey_template(db, slug, kind)
    elif form.validate_on_submit():
        if request.form.get("action") == "reset":
            row = db.get(MailTemplate, (slug, kind))
            if row is not None:
                db.delete(row)
                db.commit()
            flash(f"The {kind} uses the default wording again.", "info")
            return redirect(url_for("admin.mail_template", slug=slug, kind=kind))
        subject, text, html = form.subject.data or "", form.text_body.data or "", form.html_body.data or ""
        problems = survey_wording_problems(db, slug, subject, text, html)
        if not problems:
            save_template(db, slug, kind, subject, text, html)
            db.commit()
            flash(f"The {kind} wording is saved.", "info")
            return redirect(url_for("admin.survey", slug=slug))
        for p in problems:
            flash(p, "error")
        return _mail_page(s, kind, form, confidential, 422)
    return _mail_page(s, kind, form, confidential, 422 if form.is_submitted() else 200)


def _mail_editor(slug: str, kind: str) -> tuple[Survey, bool, MailTemplateForm]:
    """Return the survey, whether it is a confidential study's wave, and the wording form (404 for another kind)."""
    if kind not in KINDS:
        abort(404, "There are two e-mails: invitation and reminder.")
    s = survey_or_404(slug)
    return s, confidential_wave(get_session(), slug) is not None, MailTemplateForm()


def _mail_page(s: Survey, kind: str, form: MailTemplateForm, confidential: bool, status: int) -> Any:
    return render_template("admin/mail.html", survey=s, kind=kind, form=form,
                           default=default_template(kind, confidential)), status


def _typed_or_saved(slug: str, kind: str, form: MailTemplateForm) -> tuple[str, str, str]:
    """Return the wording sent with *form* (the editor's fields, saved or not), else the survey's wording."""
    if form.is_submitted():
        return form.subject.data or "", form.text_body.data or "", form.html_body.data or ""
    return survey_template(get_session(), slug, kind)


@bp.route("/s/<slug>/mail/<kind>/preview", methods=["GET", "POST"])
@allowed("survey_edit")
@mail_preview_frame
def mail_preview(slug: str, kind: str) -> Any:
    """Show an e-mail as an invitee gets it (subject, HTML part, text part), with a sample link: the survey's
    wording (GET) or the editor's unsaved text (the editor's Preview button posts into this frame)."""
    s, _confidential, form = _mail_editor(slug, kind)
    if form.is_submitted() and not form.validate():
        problems = [f"{getattr(form, name).label.text}: {' '.join(errors)}" for name, errors in form.errors.items()]
        return render_template("admin/mail_preview.html", survey=s, kind=kind, problems=problems), 422
    subject, text, html = _typed_or_saved(slug, kind, form)
    problems = survey_wording_problems(get_session(), slug, subject, text, html)
    if problems:
        return render_template("admin/mail_preview.html", survey=s, kind=kind, problems=problems), 422
    email = sample_email(s, subject, text, html, "invitee@example.org", current_app.config["SURVEYKIT_BASE_URL"])
    return render_template("admin/mail_preview.html", survey=s, kind=kind, problems=[], email=email,
                           text=wrap_text(email.text), link=sample_link(s, current_app.config["SURVEYKIT_BASE_URL"]))


@bp.post("/s/<slug>/mail/<kind>/test")
@allowed("survey_edit")
def mail_test(slug: str, kind: str) -> Any:
    """Send the editor's wording (saved or not), filled in with a sample link, to the investigator's own address."""
    s, confidential, form = _mail_editor(slug, kind)
    db = get_session()
    if not form.validate_on_submit():
        return _mail_page(s, kind, form, confidential, 422)
    subject, text, html = _typed_or_saved(slug, kind, form)
    problems = survey_wording_problems(db, slug, subject, text, html)
    if problems:
        for p in problems:
            flash(p, "error")
        return _mail_page(s, kind, form, confidential, 422)
    user = current_user()
    assert user is not None  # @allowed let the request in
    if not str(current_app.config["SURVEYKIT_SMTP_HOST"]).strip():
        flash("No test was sent: no mail server is set (SURVEYKIT_SMTP_HOST is empty).", "error")
        return _mail_page(s, kind, form, confidential, 503)
    settings = _smtp()
    if settings is None:
        return _mail_page(s, kind, form, confidential, 503)
    email = sample_email(s, subject, text, html, user.email, current_app.config["SURVEYKIT_BASE_URL"])
    email = dataclasses.replace(email, subject=f"[Test] {email.subject}")
    try:
        with Mailer(settings) as mailer:
            mailer.send(email)
    except (MailError, MaybeSent) as exc:
        flash(f"The test was not sent to {user.email}: {exc}", "error")
        return _mail_page(s, kind, form, confidential, 502)
    flash(f"A test of the {kind} was sent to {user.email}, as this page's text (not saved yet). Its link is a "
          "sample that opens no invitation.", "info")
    return _mail_page(s, kind, form, confidential, 200)
