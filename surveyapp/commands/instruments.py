"""`surveykit instruments`: check and list YAML instruments."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from instrument import InvalidInstrument, instrument_files, load_instrument

group = AppGroup("instruments", help="Check and list survey instruments.")


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Validate instruments (files or folders; default: the instruments folder); exit 1 on any error."""
    targets = list(paths) or [Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"])]
    files = instrument_files(targets)
    if not files:
        raise click.ClickException("no .yaml instrument files found in " + ", ".join(map(str, targets)))
    failed = 0
    seen: dict[str, str] = {}
    for path in files:
        try:
            inst = load_instrument(path, _relative(path))
        except InvalidInstrument as exc:
            failed += 1
            click.echo(f"error: {exc}", err=True)
            continue
        if inst.id in seen:
            failed += 1
            click.echo(f"error: {_relative(path)}:1: instrument id '{inst.id}' is also used by {seen[inst.id]}",
                       err=True)
            continue
        seen[inst.id] = _relative(path)
        click.echo(f"ok: {inst.id} v{inst.version} ({len(inst.questions)} questions) — {_relative(path)}")
    if failed:
        click.echo(f"{failed} of {len(files)} instrument file(s) have errors", err=True)
        raise SystemExit(1)
    click.echo(f"{len(files)} instrument(s) valid")


@group.command("list")
def list_() -> None:
    """List the instruments in the instruments folder."""
    folder = Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"])
    for path in instrument_files([folder]):
        try:
            inst = load_instrument(path, _relative(path))
        except InvalidInstrument as exc:
            click.echo(f"{path.stem:24} BROKEN  {exc}")
            continue
        coded = len(inst.coded_questions())
        click.echo(f"{inst.id:24} v{inst.version:<3} {len(inst.questions):3} questions, {coded} open-ended "
                   f"for coding — {inst.title}")
