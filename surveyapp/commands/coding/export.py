"""`surveykit coding export`: a project's theme workbook.

Coders are shown by their account's name (`surveykit users`), else by the part of their address before "@":
a name already stored, so no new setting or migration is needed. Per-question columns are labelled with the
question's text from the survey's instrument.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from coding.reconcile import CONSENSUS_RULES, DEFAULT_RULE

from ...db import get_session
from ...exporting import question_texts
from .common import coder_names, get_project, group


@group.command("export")
@click.argument("name", metavar="PROJECT")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Workbook to write (.xlsx).")
@click.option("--quotes", type=click.IntRange(min=0), default=3, show_default=True,
              help="Representative quotes per theme.")
@click.option("--respondents", type=click.IntRange(min=1),
              help="Denominator for '% of respondents' (default: respondents with coded answers).")
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap replicates for alpha's 95% interval.")
@click.option("--without-consensus", "rule", type=click.Choice(list(CONSENSUS_RULES)), default=DEFAULT_RULE,
              show_default=True,
              help="What a unit without a recorded consensus counts: codes all its coders gave, a majority "
                   "gave (two coders: both), or any gave. Printed on every theme sheet, with the units still "
                   "awaiting consensus per code.")
def export_command(name: str, out: Path, quotes: int, respondents: int | None, bootstrap: int, rule: str) -> None:
    """Write PROJECT's theme tables, agreement, matrices, co-occurrence and audit log to an .xlsx workbook."""
    if out.suffix.lower() != ".xlsx":
        raise click.ClickException(f"{out}: the workbook is written as .xlsx")
    session = get_session()
    project = get_project(session, name)
    from coding.workbook import gather, write_workbook  # NumPy: only for this command

    click.echo("computing tables and agreement ...", err=True)
    data = gather(session, project, quotes=quotes, respondents=respondents, bootstrap=bootstrap, rule=rule,
                  names=coder_names(session), question_texts=question_texts(session, project))
    count = 5 + len(data.tables.domains) + len(data.coder_matrices)  # see write_workbook
    with click.progressbar(length=count, label="writing sheets", file=sys.stderr) as bar:
        sheets = write_workbook(data, out, progress=lambda _sheet: bar.update(1))
    click.echo(f"wrote {out} ({len(sheets)} sheets: {', '.join(sheets)})")
