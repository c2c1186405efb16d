"""`surveykit surveys`: open, list and close surveys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..db import get_session
from ..instrument import InvalidInstrument, instrument_files, load_instrument
from ..models import Survey
from ..surveys import SurveyError, create_survey, response_count

group = AppGroup("surveys", help="Open, list and close surveys.")


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)") from None


@group.command("create")
@click.argument("instrument")
@click.option("--id", "slug", required=True, help="Survey id, used in the address /s/<id>.")
@click.option("--title", default="", help="Title shown to respondents (default: the instrument's).")
@click.option("--mode", type=click.Choice(["open", "invitation"]), default="open", show_default=True)
@click.option("--opens", callback=_date, help="First day answers are taken (YYYY-MM-DD).")
@click.option("--closes", callback=_date, help="Last day answers are taken (YYYY-MM-DD).")
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
    """Close a survey: it stops taking answers at once."""
    session = get_session()
    survey = session.get(Survey, slug)
    if survey is None:
        raise click.ClickException(f"no survey '{slug}'")
    survey.closed = True
    session.commit()
    click.echo(f"survey '{slug}' is closed ({response_count(session, slug)} responses)")


@group.command("demo")
def demo() -> None:
    """Open one public survey per shipped instrument, named after it, unless it exists (for `make run`)."""
    session = get_session()
    folder = Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"])
    for path in instrument_files([folder]):
        try:
            inst = load_instrument(path)
        except InvalidInstrument as exc:
            click.echo(f"skipped: {exc}", err=True)
            continue
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
