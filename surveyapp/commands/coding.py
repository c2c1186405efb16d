"""`surveykit coding`: inter-coder agreement and codebook conversion.

Plain click (no Flask): both commands work on files. SOURCE for `agreement` is a coded spreadsheet read by
``coding.spreadsheet``; coding projects are not stored in the database yet, so only files work for now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from coding.agreement import agreement_report
from coding.codebook import convert
from coding.errors import InvalidCodebook, InvalidSpreadsheet
from coding.spreadsheet import read_codings

group = click.Group("coding", help="Team coding: agreement between coders, codebooks.")


def _fmt(value: float | None, width: int = 8) -> str:
    # Adding 0.0 turns a rounded -0.000 into 0.000.
    return f"{round(value, 3) + 0.0:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def _table(report: dict[str, Any]) -> str:
    """Render the agreement report for a terminal."""
    overall = report["overall"]
    ci = overall["alpha_ci"]
    coders = ", ".join(report["coders"])
    lines = [
        f"{report['units']} units, {overall['n_units']} coded by two or more of: {coders}",
        f"percent agreement (identical code sets)  {_fmt(overall['percent_agreement'])}",
        f"Krippendorff's alpha, {overall['alpha_distance']}  {_fmt(overall['krippendorff_alpha'])}"
        + (f"  95% CI [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""),
    ]
    if "fleiss_kappa" in overall:
        lines.append(f"Fleiss' kappa (one code per unit)  {_fmt(overall['fleiss_kappa'])}")
        for pair, kappa in overall["cohen_kappa"].items():
            lines.append(f"Cohen's kappa {pair}  {_fmt(kappa)}")
    pairs = list(report["coders"])
    pair_keys = [f"{a}|{b}" for i, a in enumerate(pairs) for b in pairs[i + 1:]]
    name_width = max([len("code"), *map(len, report["per_code"])])
    header = f"{'code':<{name_width}}  {'agree':>8}{'alpha':>8}{'fleiss':>8}" + "".join(
        f"{k:>{max(8, len(k) + 2)}}" for k in pair_keys
    )
    lines += ["", "per code (applied or not):", header]
    for code, stats in report["per_code"].items():
        row = f"{code:<{name_width}}  {_fmt(stats['percent_agreement'])}{_fmt(stats['krippendorff_alpha'])}"
        row += _fmt(stats["fleiss_kappa"])
        row += "".join(_fmt(stats["cohen_kappa"].get(k), max(8, len(k) + 2)) for k in pair_keys)
        lines.append(row)
    return "\n".join(lines)


@group.command("agreement")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--bootstrap", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap replicates for alpha's 95% interval (0: none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the bootstrap.")
def agreement_command(source: str, as_json: bool, bootstrap: int, seed: int) -> None:
    """Report agreement between the coders of SOURCE (a .csv/.xlsx with unit, coder, codes columns)."""
    path = Path(source)
    if not path.is_file():
        raise click.ClickException(f"'{source}' is not a file; stored coding projects are not available yet")
    try:
        sheet = read_codings(path)
    except InvalidSpreadsheet as exc:
        raise click.ClickException(str(exc)) from None
    if not sheet.codings:
        raise click.ClickException(f"{path}: no coded rows")
    report = agreement_report(sheet.codings, bootstrap=bootstrap, seed=seed)
    click.echo(json.dumps(report, indent=2, allow_nan=False) if as_json else _table(report))


@group.group("codebook")
def codebook_group() -> None:
    """Work with codebooks (YAML or REFI-QDA .qdc)."""


@codebook_group.command("convert")
@click.argument("in_path", metavar="IN", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
def convert_command(in_path: Path, out_path: Path) -> None:
    """Convert a codebook between .yaml/.yml and .qdc, by extension."""
    try:
        book = convert(in_path, out_path)
    except InvalidCodebook as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.ClickException(f"{in_path}: {exc}") from None
    count = sum(1 for _ in book.walk())
    click.echo(f"wrote {out_path} ({count} codes)")
