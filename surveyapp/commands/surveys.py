"""`surveykit surveys`: open, list and close surveys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from instrument import InvalidInstrument

from ..db import get_session
from ..instrument_list import offered
from ..invitations.counted import InvitedError, read_invited, record_invited
from ..invitations.held import held_messages, settle
from ..invitations.parking import ParkingError
from ..invitations.rates import survey_status
from ..invitations.roster import RosterError, import_roster, read_roster
from ..invitations.sending import (
    InvitationError,
    SendReport,
    invitations_sent,
    pending_count,
    send_due_reminders,
    send_invitations,
)
from ..mail import MailError, SmtpSettings
from ..models import Invitation, Survey
from ..surveys import SurveyError, close_survey, create_survey, instrument_of, response_count
from .options import parse_date

group = AppGroup("surveys", help="Open, list and close surveys.")


@group.command("create")
@click.argument("instrument")
@click.option("--id", "slug", required=True, help="Survey id, used in the address /s/<id>.")
@click.option("--title", default="", help="Title shown to respondents (default: the instrument's).")
@click.option("--mode", type=click.Choice(["open", "invitation"]), default="open", show_default=True)
@click.option("--opens", callback=parse_date, help="First day answers are taken (YYYY-MM-DD).")
@click.option("--closes", callback=parse_date, help="Last day answers are taken (YYYY-MM-DD).")
@click.option("--reminder-days", type=int, default=7, show_default=True,
              help="Days after the invitation the one reminder is due (0: at once).")
def create(instrument: str, slug: str, title: str, mode: str, opens: dt.date | None, closes: dt.date | None,
           reminder_days: int) -> None:
    """Open a survey of INSTRUMENT."""
    session = get_session()
    try:
        survey = create_survey(session, Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"]), instrument, slug,
                               title, mode=mode, opens_on=opens, closes_on=closes, reminder_days=reminder_days)
    except (SurveyError, InvalidInstrument) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    base = current_app.config["SURVEYKIT_BASE_URL"].rstrip("/")
    click.echo(f"survey '{survey.slug}' ({mode}) serves {instrument} v{survey.instrument_version.version} at "
               f"{base}/s/{survey.slug}")


@group.command("list")
def list_() -> None:
    """List surveys with their state and number of responses."""
    session = get_session()
    surveys = session.scalars(select(Survey).order_by(Survey.created_on, Survey.slug)).all()
    if not surveys:
        click.echo("no surveys yet: open one with 'surveykit surveys create INSTRUMENT --id SLUG'")
    for s in surveys:
        v = s.instrument_version
        click.echo(f"{s.slug:24} {s.state():13} {s.mode:10} {v.instrument_id} v{v.version:<3} "
                   f"{response_count(session, s.slug):6} responses  {s.title}")


@group.command("close")
@click.argument("slug")
def close(slug: str) -> None:
    """Close a survey: it stops taking answers at once, and its invitees' addresses are erased."""
    session = get_session()
    survey = session.get(Survey, slug)
    if survey is None:
        raise click.ClickException(f"no survey '{slug}'")
    try:
        closed = close_survey(session, survey)
    except ParkingError as exc:
        raise click.ClickException(str(exc)) from None
    note = f"; {closed.erased} invitee addresses erased (the counts stay)" if closed.erased else ""
    click.echo(f"survey '{slug}' is closed ({response_count(session, slug)} responses){note}")
    if closed.warning:
        click.echo(f"warning: {closed.warning}", err=True)


@group.command("demo")
def demo() -> None:
    """Open one public survey per shipped instrument, named after it, unless it exists (for `make run`)."""
    session = get_session()
    folder = Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"])
    shelf = offered(session, folder).shelf
    for bad in shelf.broken:
        click.echo(f"skipped: {bad.message}", err=True)
    for inst in shelf.instruments:
        if session.get(Survey, inst.id) is not None:
            continue
        try:
            create_survey(session, folder, inst.id, inst.id, inst.title)
        except SurveyError as exc:
            session.rollback()
            click.echo(f"skipped: {exc}", err=True)
            continue
        session.commit()
        click.echo(f"opened /s/{inst.id}")


def _survey(slug: str) -> Survey:
    survey = get_session().get(Survey, slug)
    if survey is None:
        raise click.ClickException(f"no survey '{slug}' (see 'surveykit surveys list')")
    return survey


def _smtp() -> SmtpSettings:
    try:
        return SmtpSettings.from_config(current_app.config)
    except MailError as exc:
        raise click.ClickException(str(exc)) from None


def _report(what: str, report: SendReport) -> None:
    click.echo(f"{what}: {report.sent} sent")
    if report.released:
        click.echo(f"  {report.released} left by a stopped run before the message's end (not taken): sent now",
                   err=True)
    for line in report.errors[:20]:
        click.echo(f"  {line}", err=True)
    if report.refused:
        click.echo(f"  {report.refused} refused for good by the mail server (not retried)", err=True)
    if report.uncertain:
        click.echo(f"  {report.uncertain} uncertain: the whole message was handed over and the server's answer "
                   "never came, so it may or may not have been taken; it is held, not sent again, until you "
                   "settle it (see 'surveykit surveys uncertain')", err=True)
    if report.stopped:
        raise click.ClickException(f"{report.stopped}; nothing was counted as sent that the server did not accept. "
                                   "Run the same command again later to send the rest.")


@group.command("invite")
@click.argument("slug")
@click.argument("roster", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--today", callback=parse_date, hidden=True, help="Pretend today is this day (tests).")
def invite(slug: str, roster: Path | None, today: dt.date | None) -> None:
    """Add the invitees of ROSTER (CSV or XLSX: email, department) to SLUG and send every waiting invitation.

    Without ROSTER, sends the invitations still waiting (after the mail server was unreachable, say).
    """
    session = get_session()
    survey = _survey(slug)
    today = today or dt.date.today()
    if roster is not None:
        try:
            entries = read_roster(roster.read_bytes(), str(roster))
            added = import_roster(session, survey, entries, str(roster))
        except RosterError as exc:
            session.rollback()
            raise click.ClickException(f"nothing imported; fix these lines and run again:\n{exc}") from None
        session.commit()
        click.echo(f"{added} invitees added from {roster}")
    waiting = pending_count(session, slug, "invitation")
    if not waiting:
        click.echo(f"no invitations waiting for '{slug}' ({invitations_sent(session, slug)} sent so far)")
        return
    settings = _smtp()
    with click.progressbar(length=waiting, label=f"Sending {waiting} invitations") as bar:
        try:
            report = send_invitations(session, survey, settings, current_app.config["SURVEYKIT_BASE_URL"], today,
                                      progress=bar.update)
        except InvitationError as exc:
            raise click.ClickException(str(exc)) from None
    _report("invitations", report)


@group.command("remind")
@click.argument("slug", required=False)
@click.option("--due", is_flag=True, help="Only reminders whose day has come (N days after the invitation); "
              "without SLUG, for every survey. Safe to run from cron.")
@click.option("--today", callback=parse_date, hidden=True, help="Pretend today is this day (tests).")
def remind(slug: str | None, due: bool, today: dt.date | None) -> None:
    """Send the one reminder to invitees who have not answered (in open mode: to the whole roster).

    With SLUG and no --due, reminds that survey's invitees now, whatever the reminder days. Nobody ever gets a
    second reminder, however often or however many times at once this runs.
    """
    if slug is None and not due:
        raise click.UsageError("name a survey, or use --due to send every survey's due reminders")
    session = get_session()
    today = today or dt.date.today()
    if slug is not None:
        survey = _survey(slug)
        if not session.scalar(select(Invitation.key).where(Invitation.survey_slug == slug).limit(1)):
            raise click.ClickException(f"survey '{slug}' has no invitees yet, so there is no one to remind "
                                       f"(invite them with 'surveykit surveys invite {slug} ROSTER')")
        if not invitations_sent(session, slug):
            raise click.ClickException(f"no invitation of survey '{slug}' has been sent yet, so no reminder is "
                                       f"due (send them with 'surveykit surveys invite {slug}')")
        if survey.state(today) != "open":
            raise click.ClickException(f"survey '{slug}' is {survey.state(today).replace('_', ' ')}: no reminders")
        surveys: list[Survey] | None = [survey]
    else:
        surveys = None  # every open survey with invitees
    total = send_due_reminders(session, _smtp(), current_app.config["SURVEYKIT_BASE_URL"], today, surveys,
                               due_only=due, progress=_counted)
    if not total.sent and not total.stopped and not total.errors and not total.released:
        click.echo("no reminders due")
        return
    _report("reminders", total)


@contextmanager
def _counted(survey: Survey, waiting: int) -> Iterator[Callable[[int], None]]:
    with click.progressbar(length=waiting, label=f"{survey.slug}: {waiting} reminders") as bar:
        yield bar.update


@group.command("uncertain")
@click.argument("slug")
@click.option("--sent", "taken", multiple=True, metavar="MESSAGE-ID",
              help="This message is in the mail server's log: count it as sent (by Message-ID or address).")
@click.option("--resend", multiple=True, metavar="MESSAGE-ID",
              help="This message is not in the mail server's log: send it with the next run.")
@click.option("--today", callback=parse_date, hidden=True, help="Pretend today is this day (tests).")
def uncertain(slug: str, taken: tuple[str, ...], resend: tuple[str, ...], today: dt.date | None) -> None:
    """List the messages in doubt of SLUG (handed over, no answer from the server), or settle them.

    Look each Message-ID up in the mail server's log: found, settle it with --sent; not found, with --resend
    and run 'invite' or 'remind' again. Nothing in doubt is ever sent twice by itself.
    """
    session = get_session()
    _survey(slug)
    today = today or dt.date.today()
    unknown = []
    for which, was_taken in [*((t, True) for t in taken), *((r, False) for r in resend)]:
        found = settle(session, slug, which, was_taken, today)
        if found is None:
            unknown.append(which)
        else:
            click.echo(f"{found.kind} to {found.email or '(address erased)'} {found.message_id}: "
                       + ("counted as sent" if was_taken else "waits for the next run"))
    held = held_messages(session, slug)
    if not taken and not resend:
        if not held:
            click.echo(f"no messages in doubt for '{slug}'")
        for h in held:
            click.echo(f"{h.kind}\t{h.email or '(address erased)'}\t{h.message_id or '(no Message-ID)'}\t{h.note}")
    if unknown:
        raise click.ClickException(f"no message in doubt with Message-ID or address {', '.join(unknown)} "
                                   f"(list them with 'surveykit surveys uncertain {slug}')")


@group.command("invited")
@click.argument("slug")
@click.option("--count", type=click.IntRange(0, 10_000_000), default=None,
              help="How many were invited by another channel (not split by department).")
@click.option("--by-department", "by_department", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or XLSX with columns department,invited: how many each department invited.")
def invited(slug: str, count: int | None, by_department: Path | None) -> None:
    """Record how many were invited to SLUG by another channel (the study's own e-mail, say).

    These people got no invitation from surveykit: the response rates add them to the invitations sent here,
    and count every stored answer, imported ones too. Recording again replaces the earlier counts.
    """
    if (count is None) == (by_department is None):
        raise click.UsageError("give either --count N or --by-department FILE.csv")
    session = get_session()
    survey = _survey(slug)
    if by_department is not None:
        try:
            counts = read_invited(by_department.read_bytes(), str(by_department), instrument_of(survey))
        except InvitedError as exc:
            raise click.ClickException(f"nothing recorded; fix these lines and run again:\n{exc}") from None
    else:
        counts = {"": count or 0}
    record_invited(session, survey, counts)
    session.commit()
    total = sum(counts.values())
    split = f" in {len(counts)} departments" if by_department is not None else ""
    click.echo(f"recorded {total} invited by another channel{split} for '{slug}' "
               f"(rates: 'surveykit surveys status {slug}')")


@group.command("status")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (invited, answered, response_rate, "
              "reminders_sent, departments).")
@click.option("--exact", is_flag=True, help="Show counts below SURVEYKIT_MIN_CELL as they are (the survey's owner "
              "only; never in pages or exports).")
def status(slug: str, as_json: bool, exact: bool) -> None:
    """Show invitations, answers and response rates per department, hiding small counts unless --exact."""
    session = get_session()
    survey = _survey(slug)
    data = survey_status(session, survey, current_app.config["SURVEYKIT_MIN_CELL"], exact=exact)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"{survey.slug}: {survey.title} ({survey.mode}, {data['state'].replace('_', ' ')})")
    elsewhere = f" ({data['invited_elsewhere']} by another channel)" if data["invited_elsewhere"] else ""
    invited = data["invited"] if data["invited_tracked"] else "not tracked"
    click.echo(f"invited {invited}{elsewhere}, answered {_show(data['answered'])} "
               f"({_pct(data['response_rate'])}), reminders sent {data['reminders_sent']}")
    waiting = [f"{data['invitations_waiting']} invitations waiting" if data["invitations_waiting"] else "",
               f"{data['reminders_waiting']} reminders waiting" if data["reminders_waiting"] else "",
               f"{data['uncertain']} uncertain" if data["uncertain"] else "",
               f"{data['refused']} refused by the mail server" if data["refused"] else ""]
    if any(waiting):
        click.echo("; ".join(w for w in waiting if w))
    if data["departments"]:
        width = max(12, *(len(d) for d in data["departments"]))
        click.echo(f"{'department':{width}}  {'invited':>8}  {'answered':>8}  {'rate':>7}")
        for name, row in data["departments"].items():
            click.echo(f"{name:{width}}  {_show(row['invited']):>8}  {_show(row['answered']):>8}  "
                       f"{_pct(row['response_rate']):>7}")


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}%"
