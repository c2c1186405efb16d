"""`evaluate`: cross-validate code suggestions against the coders of a stored project or a coded spreadsheet.

``add_evaluate_command(group)`` adds the command to any click group (the coding group, when it exists).
SOURCE is the coding project of that name when an app (and so a database) is available and has one, else a
file read by ``coding.spreadsheet``. The command only reads, so it needs no transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from coding import projects
from coding.assist_project import evaluate_project
from coding.errors import InvalidSpreadsheet
from coding.spreadsheet import read_codings

from ..db import get_session
from .coding.common import load_app


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


def _rate(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "-"
    return f"{figures['rate']:.0%} ({figures['accepted']} accepted, {figures['rejected']} rejected)"


def _table(report: dict[str, Any]) -> str:
    blocks = (("human_vs_human", "other coders"), ("suggestions_vs_humans", "suggestions"),
              ("baseline_vs_humans", "baseline"))
    lines = [f"{report['units']} units, coders: {', '.join(report['coders'])}; held out in turn: "
             f"{', '.join(report['held_out'])}; {report['folds']}-fold; text backend: {report['backend'] or '-'}",
             f"Compared: {report['protocol']}."]
    if "consensus_units" in report:
        lines.append(f"A consensus was recorded on {report['consensus_units']} units: compared with below, "
                     "never trained on (the held-out coder had a voice in it).")
    lines += ["", f"{'vs the held-out coder':<24}{'micro-F1':>10}{'macro-F1':>10}{'alpha':>10}    "
                  f"({report['suggestions_vs_humans']['pairs']} (coder, unit) pairs, the same for each row)"]
    for block, label in blocks:
        figures = report[block]
        lines.append(f"{label:<24}" + "".join(_cell(figures[m]) for m in ("micro_f1", "macro_f1", "alpha")))
    vs = report["suggestions_vs_humans"].get("vs_consensus")
    if vs:
        lines.append(f"{'suggestions vs consensus':<24}" + "".join(_cell(vs[m]) for m in ("micro_f1", "macro_f1",
                                                                                        "alpha")))
    lines += ["", f"{'per held-out coder':<24}{'units':>8}" + "".join(f"{n:>20}" for _, n in blocks),
              f"{'':<32}" + f"{'micro-F1':>10}{'alpha':>10}" * 3]
    for coder, figures in report["per_coder"].items():
        lines.append(f"{coder:<24}{figures['units']:>8}" + "".join(
            _cell(figures[side]["micro_f1"]) + _cell(figures[side]["alpha"]) for side in ("humans", "suggested",
                                                                                         "baseline")))
    codes = sorted({code for block, _ in blocks for code in report[block]["per_code"]})
    if codes:
        width = max(len("per code"), *map(len, codes))
        lines += ["", f"{'per code':<{width}}" + "".join(f"{name:>20}" for _, name in blocks),
                  f"{'':<{width}}" + f"{'F1':>10}{'alpha':>10}" * 3]
        for code in codes:
            row = f"{code:<{width}}"
            for block, _ in blocks:
                figures = report[block]["per_code"].get(code, {})
                row += _cell(figures.get("f1")) + _cell(figures.get("alpha"))
            lines.append(row)
    routing = report["routing"]
    lines += ["", "Shown in the coding screen (each code at its threshold for precision "
                  f"{routing['target_precision']}, calibrated in the training folds): "
                  f"on {_share(routing['coverage'])} of (coder, unit) pairs, {routing['shown']} suggestions, "
                  f"{routing['right']} of them applied by the held-out coder (precision "
                  f"{_share(routing['precision'])})"]
    lines += [f"  {code}: {figures['right']} of {figures['shown']}" for code, figures in routing["per_code"].items()]
    lines += ["One threshold for every code (score at least):"]
    lines += [f"  {row['threshold']:.2f}: coverage {_share(row['coverage'])}, precision {_share(row['precision'])}, "
              f"alpha on the covered pairs {'-' if row['alpha'] is None else format(row['alpha'], '.3f')}"
              for row in report["curve"]]
    calibration = report.get("calibration")
    if calibration and calibration["pairs"]:
        lines += ["", f"model probabilities ({calibration['method']} calibration), out of fold on "
                      f"{calibration['pairs']} (unit, code) pairs: Brier {calibration['brier']:.3f}, "
                      f"ECE {calibration['ece']:.3f} ({calibration['bins']} bins)"]
    if "acceptance" in report:
        acceptance = report["acceptance"]
        lines += ["", f"suggestions accepted in the coding screen: {_rate(acceptance['overall'])}"]
        lines += [f"  {code}: {_rate(figures)}" for code, figures in acceptance["per_code"].items()]
        lines += [f"  by {coder}: {_rate(figures)}" for coder, figures in report.get("acceptance_by_coder", {}).items()]
    lines += ["", report["verdict"]]
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def add_evaluate_command(group: click.Group) -> click.Command:
    """Add `evaluate PROJECT|FILE [--coder NAME] [--consensus NAME] [--folds K] [--json]` to ``group``."""

    @click.command("evaluate")
    @click.argument("source", metavar="PROJECT|FILE")
    @click.option("--coder", help="Train on this coder's codes (default: the consensus, else the majority of coders).")
    @click.option("--consensus", "consensus_name", metavar="NAME",
                  help="Files only: rows of this coder name hold the consensus; train on it and compare with it.")
    @click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True,
                  help="Cross-validation folds over units.")
    @click.option("--seed", type=int, default=0, show_default=True,
                  help="Seed for the fold split and the models.")
    @click.option("--backend", type=click.Choice(["tfidf", "embeddings"]),
                  help="Text representation (default: embeddings when surveykit[embeddings] is installed, else tfidf).")
    @click.option("--precision", type=click.FloatRange(min=0.0, max=1.0, min_open=True), default=0.9,
                  show_default=True, help="Precision each code's threshold is calibrated to (routing).")
    @click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
    @click.pass_context
    def evaluate_command(ctx: click.Context, source: str, coder: str | None, consensus_name: str | None, folds: int,
                         seed: int, backend: str | None, precision: float, as_json: bool) -> None:
        """Compare code suggestions with the coders of PROJECT, or of FILE (.xlsx/.csv: unit, text, coder, codes).

        Leave one coder out: each coder in turn is compared with (a) the codes most of the other coders applied,
        (b) suggestions from a model trained on those other coders' codes of other units (K folds), (c) a
        most-frequent-codes baseline, on the same units; "no code" counts as an answer. Prints micro- and
        macro-F1 and Krippendorff's alpha (MASI), per coder and per code, what would be shown at the
        calibrated precision and the coverage-precision curve; for a project, also how often reviewers
        accepted the suggestions shown in the coding screen.
        """
        # The note goes to stderr, but test runners mix the streams: keep --json output pure JSON.
        note = (lambda _what: None) if as_json else (lambda what: click.echo(
            f"evaluating suggestions on {what} (leave one coder out, {folds} folds) ...", err=True))
        # An existing file is read as a file, without touching the database (which may not be set up).
        options = {"folds": folds, "seed": seed, "backend": backend, "precision": precision}
        report = None if Path(source).is_file() else _evaluate_project(ctx, source, coder, consensus_name, options,
                                                                         note)
        if report is None:
            report = _evaluate_file(source, coder, consensus_name, options, note)
        click.echo(json.dumps(report, indent=2, allow_nan=False) if as_json else _table(report))

    # A plain click command: it loads the app itself, so FILE also works where no app can be found.
    group.add_command(evaluate_command)
    return evaluate_command


def _evaluate_project(ctx: click.Context, name: str, coder: str | None, consensus_name: str | None,
                      options: dict[str, Any], note: Callable[[str], None]) -> dict[str, Any] | None:
    """Evaluate the stored project called *name*; None when there is no app or no such project."""
    app = load_app(ctx)
    if app is None:
        return None
    with app.app_context():
        session = get_session()
        project = projects.find_project(session, name)
        if project is None:
            return None
        if consensus_name is not None:
            raise click.ClickException("--consensus works on files; a project's recorded consensus is used")
        note(f"project '{name}'")
        try:
            return evaluate_project(session, project, coder=coder, **options)
        except ValueError as exc:  # ProjectError included
            raise click.ClickException(str(exc)) from None


def _evaluate_file(source: str, coder: str | None, consensus_name: str | None, options: dict[str, Any],
                   note: Callable[[str], None]) -> dict[str, Any]:
    path = Path(source)
    if not path.is_file():
        raise click.ClickException(f"'{source}' is not a file, and no coding project has that name")
    units, codings = _read_sheet(path)
    consensus = None
    if consensus_name is not None:
        consensus = {u: by.pop(consensus_name) for u, by in codings.items() if consensus_name in by}
        if not consensus:
            raise click.ClickException(f"{path}: no row has coder '{consensus_name}'")
        codings = {u: by for u, by in codings.items() if by}
    if coder is not None and not any(coder in by for by in codings.values()):
        raise click.ClickException(f"{path}: no row has coder '{coder}'")
    note(str(path))
    from coding.assist.evaluate import evaluate  # scikit-learn: loaded by this command only

    try:
        return evaluate(units, codings, consensus=consensus, coder=coder, **options)
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
