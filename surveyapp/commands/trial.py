"""`surveykit trial compare`: the two-wave comparison of a file of participants (no database needed)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from exports.tables import Table
from exports.tabular.errors import TableError
from exports.trial import TrialError, compare, pre_post
from exports.trialtable import (
    comparison_table,
    link_waves,
    pre_post_table,
    read_participants,
    read_wave,
    write_comparison_workbook,
)

group = AppGroup("trial", help="Compare waves and arms of a trial or a repeated survey.")


def echo_table(table: Table) -> None:
    """Print a manuscript table as aligned columns, its title above and its note below."""
    click.echo(table.title)
    widths = [max(len(str(r[i] if r[i] is not None else "")) for r in [table.header, *table.rows])
              for i in range(len(table.header))]
    for row in [table.header, *table.rows]:
        click.echo("  ".join(str(c if c is not None else "").ljust(w) for c, w in zip(row, widths, strict=True)))
    click.echo(table.note)


@group.command("compare")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--baseline", required=True, metavar="COLUMN", help="The column holding the baseline score.")
@click.option("--follow-up", "follow_up", required=True, metavar="COLUMN", help="The follow-up score's column.")
@click.option("--arm", metavar="COLUMN", help="The column holding each participant's arm (none: one group).")
@click.option("--arms", metavar="FIRST,SECOND", help="Which arm is compared with which (first minus second).")
@click.option("--outcome", default="outcome", help="The outcome's name in the table (e.g. burnout).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the table (.xlsx).")
def compare_command(file: Path, baseline: str, follow_up: str, arm: str | None, arms: str | None, outcome: str,
                    out: Path | None) -> None:
    """Compare FILE's baseline and follow-up (CSV or XLSX, one row per participant): by arm, or one group."""
    if out is not None and out.suffix.lower() != ".xlsx":
        raise click.ClickException(f"--out {out.name}: give an .xlsx file")
    try:
        rows = read_participants(file, baseline, follow_up, arm)
        if arm is None:
            table = pre_post_table(pre_post((p.baseline, p.follow_up) for p in rows), outcome)
        else:
            order = [a.strip() for a in arms.split(",")] if arms else None
            table = comparison_table(compare(rows, order), outcome)
    except (TableError, TrialError) as exc:
        raise click.ClickException(str(exc)) from None
    echo_table(table)
    if out is not None:
        write_comparison_workbook(out, [table], f"{outcome}: {file.name}")
        click.echo(f"wrote {out}")


@group.command("waves")
@click.argument("baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("follow_up", metavar="FOLLOW_UP", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--outcome", "outcomes", required=True, multiple=True, metavar="COLUMN",
              help="A score's column in both files (e.g. burnout); repeat for several outcomes.")
@click.option("--id", "id_column", metavar="COLUMN", help="A column linking a participant's rows across the files "
              "(a study id); without it the waves are compared unpaired.")
@click.option("--arm", metavar="COLUMN", help="The column holding each participant's arm (needs --id).")
@click.option("--arms", metavar="FIRST,SECOND", help="Which arm is compared with which (first minus second).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the tables (.xlsx).")
def waves_command(baseline: Path, follow_up: Path, outcomes: tuple[str, ...], id_column: str | None,
                  arm: str | None, arms: str | None, out: Path | None) -> None:
    """Compare each OUTCOME score between two waves' exports: by arm, paired by --id, or unpaired."""
    if out is not None and out.suffix.lower() != ".xlsx":
        raise click.ClickException(f"--out {out.name}: give an .xlsx file")
    if arm is not None and id_column is None:
        raise click.ClickException("--arm needs --id: a change per arm needs each participant's two waves linked")
    tables = []
    try:
        for outcome in outcomes:
            first = read_wave(baseline, outcome, id_column, arm)
            second = read_wave(follow_up, outcome, id_column, arm)
            if id_column is None:
                result = pre_post(baseline_only=[r.value for r in first if r.value is not None],
                                  follow_up_only=[r.value for r in second if r.value is not None])
                tables.append(pre_post_table(result, outcome))
            elif arm is None:
                result = pre_post((p.baseline, p.follow_up) for p in link_waves(first, second))
                tables.append(pre_post_table(result, outcome))
            else:
                order = [a.strip() for a in arms.split(",")] if arms else None
                tables.append(comparison_table(compare(link_waves(first, second), order), outcome))
    except (TableError, TrialError) as exc:
        raise click.ClickException(str(exc)) from None
    for table in tables:
        echo_table(table)
        click.echo("")
    if out is not None:
        write_comparison_workbook(out, tables, f"{', '.join(outcomes)}: {baseline.name} to {follow_up.name}")
        click.echo(f"wrote {out}")
