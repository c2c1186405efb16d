"""`surveykit instruments`: check and list YAML instruments."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Config, current_app
from flask.cli import AppGroup, ScriptInfo

from instrument import Instrument, read_instruments
from instrument.reportfile import InvalidReport, load_report

group = AppGroup("instruments", help="Check and list survey instruments.")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Checking files needs no app: only the default folder comes from the app's settings (so the app loads then).
@group.command("check", with_appcontext=False)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def check(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Validate instruments (files or folders; default: the instruments folder); exit 1 on any error."""
    if paths:
        targets = list(paths)
    else:
        targets = [Path(_settings(ctx.ensure_object(ScriptInfo))["SURVEYKIT_INSTRUMENTS_DIR"])]
    shelf = read_instruments(targets, _relative)
    if not shelf.files:
        raise click.ClickException("no .yaml instrument files found in " + ", ".join(map(str, targets)))
    bad_reports = 0
    for inst in shelf.instruments:
        click.echo(f"ok: {inst.id} v{inst.version} ({_asked(inst)} questions{_in_languages(inst)}) — {inst.source}")
        try:
            report = load_report(Path(inst.source).parent, inst)
        except InvalidReport as exc:
            click.echo(f"error: {exc}", err=True)
            bad_reports += 1
            continue
        if report is not None:
            click.echo(f"ok: {report.source}: {len(report.figures)} figures, {len(report.tables)} tables, "
                       f"{len(report.charts)} charts")
    for bad in shelf.broken:
        for error in bad.errors or (bad.message,):
            click.echo(f"error: {error}", err=True)
    if shelf.broken:
        click.echo(f"{len(shelf.broken)} of {shelf.files} instrument file(s) have errors", err=True)
    if bad_reports:
        click.echo(f"{bad_reports} report file(s) have errors", err=True)
    if shelf.broken or bad_reports:
        raise SystemExit(1)
    click.echo(f"{shelf.files} instrument(s) valid")


def _settings(info: ScriptInfo) -> Config:
    """Return the settings of the app the command runs for, without building it when it is surveykit's own (the
    whole app would triple a file check's start-up time)."""
    from .. import configured_app, create_app

    if info.create_app is create_app:  # the same settings create_app() would read, without the rest of the app
        return configured_app().config
    return info.load_app().config


def _asked(inst: Instrument) -> int:
    # The questions the file asks (inst.questions also holds the built-in language question).
    return sum(len(section.questions) for section in inst.sections)


def _in_languages(inst: Instrument) -> str:
    return f"; in {', '.join(inst.languages)}" if len(inst.languages) > 1 else ""


@group.command("list")
def list_() -> None:
    """List the instruments (the folder's and those saved in the browser); name the files that cannot be served."""
    # Imported here: `check` reads files only, and the database layer would double its start-up time.
    from ..db import get_session
    from ..instrument_list import offered

    offer = offered(get_session(), Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"]), _relative)
    shelf = offer.shelf
    for inst in shelf.instruments:
        coded = len(inst.coded_questions())
        where = " (saved in the browser)" if offer.is_saved(inst) else ""
        click.echo(f"{inst.id:24} v{inst.version:<3} {_asked(inst):3} questions, {coded} open-ended "
                   f"for coding{_in_languages(inst)} — {inst.title}{where}")
    for bad in shelf.broken:
        click.echo(f"{bad.path.stem:24} BROKEN  {bad.message}")
