"""`surveykit coding agreement`: agreement between the coders of a project or of a coded spreadsheet.

It runs without an app when given a file, so it also works from a plain click runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from coding import codings, projects, rounds
from coding.agreement_report import summarize
from coding.coders import display_names
from coding.errors import InvalidSpreadsheet
from coding.spreadsheet import read_codings
from coding.store import ProjectError

from ...db import get_session
from .common import coder_names, group, load_app


def _fmt(value: float | None, width: int = 8) -> str:
    # Adding 0.0 turns a rounded -0.000 into 0.000.
    return f"{round(value, 3) + 0.0:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def _table(report: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """Render the agreement report for a terminal (coders by display name when *names* is given)."""
    summary = summarize(report, names)
    lines = [f"{summary.units} units, {summary.pairable_units} coded by two or more of: {', '.join(summary.coders)}"]
    for figure in summary.figures:
        ci = f"  95% CI [{figure.ci[0]:.3f}, {figure.ci[1]:.3f}]" if figure.ci else ""
        lines.append(f"{figure.label}  {_fmt(figure.value)}{ci}")
    widths = [max(8, len(p) + 2) for p in summary.pairs]
    name_width = max([len("code"), *(len(row.code) for row in summary.per_code)])
    header = f"{'code':<{name_width}}  {'agree':>8}{'alpha':>8}{'fleiss':>8}" + "".join(
        f"{p:>{w}}" for p, w in zip(summary.pairs, widths, strict=True)
    )
    lines += ["", "per code (applied or not):", header]
    for row in summary.per_code:
        line = f"{row.code:<{name_width}}  {_fmt(row.percent_agreement)}{_fmt(row.krippendorff_alpha)}"
        line += _fmt(row.fleiss_kappa)
        line += "".join(_fmt(k, w) for k, w in zip(row.cohen_kappa, widths, strict=True))
        lines.append(line)
    return "\n".join(lines)


@group.command("agreement", with_appcontext=False)
@click.argument("source", metavar="PROJECT|FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--round", "round_name", help="Only the units of this round (projects only).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap replicates for alpha's 95% interval (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the bootstrap.")
@click.pass_context
def agreement_command(ctx: click.Context, source: str, as_json: bool, round_name: str | None, bootstrap: int,
                      seed: int) -> None:
    """Report agreement between the coders of a project, or of a .csv/.xlsx with unit, coder, codes columns.

    SOURCE is a file when one exists at that path (read without touching the database), else a project.
    """
    app = None if Path(source).is_file() else load_app(ctx)
    if app is not None:
        with app.app_context():
            session = get_session()
            project = projects.find_project(session, source)
            if project is not None:
                try:
                    round_id = rounds.get_round(session, project, round_name).id if round_name else None
                    report = codings.project_agreement(session, project, round_id=round_id, bootstrap=bootstrap,
                                                        seed=seed)
                except ProjectError as exc:
                    raise click.ClickException(str(exc)) from None
                names = display_names(report["coders"], coder_names(session))
                click.echo(json.dumps(report, indent=2, allow_nan=False) if as_json else _table(report, names))
                return
    path = Path(source)
    if not path.is_file():
        raise click.ClickException(f"'{source}' is not a file, and no coding project has that name")
    if round_name:
        raise click.ClickException("--round works on projects, not on files")
    try:
        sheet = read_codings(path)
    except InvalidSpreadsheet as exc:
        raise click.ClickException(str(exc)) from None
    if not sheet.codings:
        raise click.ClickException(f"{path}: no coded rows")
    from coding.agreement import agreement_report  # NumPy and SciPy: only for this command

    report = agreement_report(sheet.codings, bootstrap=bootstrap, seed=seed)
    click.echo(json.dumps(report, indent=2, allow_nan=False) if as_json else _table(report))
