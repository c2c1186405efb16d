"""`evaluate`: cross-validate code suggestions against the coders of a coded spreadsheet.

``add_evaluate_command(group)`` adds the command to any click group (the coding group, when it exists).
Spreadsheets are read by ``coding.spreadsheet``. Coding projects are not stored in the database yet, so
only FILE works for now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from coding.assist.evaluate import evaluate
from coding.errors import InvalidSpreadsheet
from coding.spreadsheet import read_codings


def _read_sheet(path: Path) -> tuple[dict[str, str], dict[str, dict[str, frozenset[str]]]]:
    """Read unit texts and unit -> coder -> codes; every unit needs its text on at least one row."""
    try:
        sheet = read_codings(path)
    except InvalidSpreadsheet as exc:
        raise click.ClickException(str(exc)) from None
    untexted = sorted(set(sheet.codings) - set(sheet.texts))
    if untexted:
        raise click.ClickException(f"{path}: unit '{untexted[0]}' has no text on any row (column 'text')")
    return sheet.texts, sheet.codings


def _cell(value: float | None) -> str:
    return f"{value:>10.3f}" if value is not None else f"{'-':>10}"


def _table(report: dict[str, Any]) -> str:
    lines = [f"{report['units']} units, coders: {', '.join(report['coders'])}; target: {report['target']}; "
             f"{report['folds']}-fold cross-validation",
             f"{'':<24}{'micro-F1':>10}{'macro-F1':>10}{'alpha':>10}"]
    for block in ("human_vs_human", "suggestions_vs_humans", "baseline_vs_humans"):
        figures = report[block]
        lines.append(f"{block:<24}" + "".join(_cell(figures[m]) for m in ("micro_f1", "macro_f1", "alpha")))
    lines += ["", report["verdict"]]
    return "\n".join(lines)


def add_evaluate_command(group: click.Group) -> click.Command:
    """Add `evaluate PROJECT|FILE [--coder NAME] [--consensus NAME] [--folds K] [--json]` to ``group``."""

    @group.command("evaluate")
    @click.argument("source")
    @click.option("--coder", help="Train on this coder's codes (default: the majority of coders).")
    @click.option("--consensus", "consensus_name", metavar="NAME",
                  help="Rows of this coder name hold the consensus: train on it and compare with it.")
    @click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
                  help="Cross-validation folds over units.")
    @click.option("--seed", type=int, default=0, show_default=True,
                  help="Seed for the fold split and the models.")
    @click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
    def evaluate_command(source: str, coder: str | None, consensus_name: str | None, folds: int, seed: int,
                         as_json: bool) -> None:
        """Compare code suggestions with the coders of SOURCE (a .xlsx/.csv with unit, text, coder, codes)."""
        path = Path(source)
        if not path.is_file():
            raise click.ClickException(
                f"'{source}' is not a file; evaluating a stored coding project is not available yet")
        units, codings = _read_sheet(path)
        consensus = None
        if consensus_name is not None:
            consensus = {u: by.pop(consensus_name) for u, by in codings.items() if consensus_name in by}
            if not consensus:
                raise click.ClickException(f"{path}: no row has coder '{consensus_name}'")
            codings = {u: by for u, by in codings.items() if by}
        if coder is not None and not any(coder in by for by in codings.values()):
            raise click.ClickException(f"{path}: no row has coder '{coder}'")
        try:
            report = evaluate(units, codings, consensus=consensus, coder=coder, folds=folds, seed=seed)
        except ValueError as exc:
            raise click.ClickException(f"{path}: {exc}") from None
        click.echo(json.dumps(report, indent=2) if as_json else _table(report))

    return evaluate_command
