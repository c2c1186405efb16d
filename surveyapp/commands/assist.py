"""`evaluate`: cross-validate code suggestions against the coders of a coded spreadsheet.

``add_evaluate_command(group)`` adds the command to any click group (the coding group, when it exists).
The spreadsheet reader here is a stand-in for ``coding/spreadsheet.py``, which is being written: replace
``_read_sheet`` with it when it lands. Coding projects are not stored in the database yet, so only FILE
works for now.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import click

from coding.assist.evaluate import evaluate

COLUMNS = ("unit", "text", "coder", "codes")


def _rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook  # only needed for workbooks

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    if path.suffix.lower() in (".csv", ".txt"):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [list(row) for row in csv.reader(handle)]
    raise click.ClickException(f"{path}: unsupported file type (use .xlsx or .csv)")


def _read_sheet(path: Path) -> tuple[dict[str, str], dict[str, dict[str, frozenset[str]]]]:
    """Read unit texts and unit -> coder -> codes from a sheet with columns unit, text, coder, codes.

    One row per unit and coder (several rows for the same pair add up); codes are separated by ";"; an
    empty codes cell means the coder read the answer and applied no code.
    """
    rows = _rows(path)
    if not rows:
        raise click.ClickException(f"{path}:1: the sheet is empty")
    header = [h.strip().casefold() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise click.ClickException(
            f"{path}:1: missing column(s) {', '.join(missing)} (need {', '.join(COLUMNS)})")
    at = {c: header.index(c) for c in COLUMNS}
    units: dict[str, str] = {}
    codings: dict[str, dict[str, set[str]]] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
        if not any(cells.values()):
            continue
        unit, text, coder = cells["unit"], cells["text"], cells["coder"]
        if not unit or not coder:
            raise click.ClickException(f"{path}:{line}: every row needs a unit and a coder")
        if text:
            if units.get(unit, text) != text:
                raise click.ClickException(
                    f"{path}:{line}: unit '{unit}' has a different text on an earlier row")
            units[unit] = text
        codes = {c.strip() for c in cells["codes"].split(";") if c.strip()}
        codings.setdefault(unit, {}).setdefault(coder, set()).update(codes)
    untexted = sorted(set(codings) - set(units))
    if untexted:
        raise click.ClickException(f"{path}: unit '{untexted[0]}' has no text on any row")
    return units, {u: {c: frozenset(s) for c, s in by.items()} for u, by in codings.items()}


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
