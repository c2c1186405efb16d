"""`surveykit coding`: coding projects, agreement, codebooks, codebook evolution and the theme workbook.

Commands that work on files only (`agreement FILE`, `codebook convert`) run without an app, so they also work
from a plain click runner; the others run in the app context and use its database. Each command is one
transaction: it commits when it succeeds and leaves nothing behind when it fails.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, NoAppException, ScriptInfo
from sqlalchemy.orm import Session

from coding import codings, evolution, projects, rounds
from coding.codebook import stored as codebook_db
from coding.codebook.files import convert, load_codebook, save_codebook
from coding.errors import InvalidCodebook, InvalidCodingInput, InvalidSpreadsheet
from coding.importing import import_sheet
from coding.spreadsheet import read_codings
from coding.store import Project, ProjectError
from coding.workbook import describe

from ..coding_web.sources import coded_questions, has_question, response_total, survey_units
from ..db import get_session

group = AppGroup("coding", help="Team coding: projects, blind coding, agreement, codebooks, theme tables.")
F = TypeVar("F", bound=Callable[..., Any])


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


def _default_who() -> str:
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):  # no user name in containers without a passwd entry
        return "command line"


def by_option(f: F) -> F:
    """Add --by WHO, recorded in the audit log and on consensus decisions."""
    return click.option("--by", "who", default=_default_who, show_default="your user name",
                        help="Who does this (an investigator's e-mail), for the audit log.")(f)


def why_option(f: F) -> F:
    """Add --why REASON, required: the audit log says why the codebook changed."""
    return click.option("--why", required=True, help="Why the codebook changes (kept in the audit log).")(f)


def _fail(session: Session, exc: Exception) -> click.ClickException:
    session.rollback()
    return click.ClickException(str(exc))


def _project(session: Session, name: str) -> Project:
    try:
        return projects.get_project(session, name)
    except ProjectError as exc:
        raise click.ClickException(str(exc)) from None


def _units_from_surveys(session: Session, sources: list[tuple[str, str]]) -> list[projects.NewUnit]:
    by_survey: dict[str, list[str]] = {}
    for slug, qid in sources:
        by_survey.setdefault(slug, []).append(qid)
    total = sum(response_total(session, slug) for slug in by_survey)
    units: list[projects.NewUnit] = []
    with click.progressbar(length=total, label="reading answers", file=sys.stderr) as bar:
        for slug, qids in by_survey.items():
            units.extend(survey_units(session, slug, qids, tick=lambda: bar.update(1)))
    return units


@group.command("list")
def list_command() -> None:
    """List coding projects with their units, coders and applications."""
    session = get_session()
    found = projects.list_projects(session)
    if not found:
        click.echo("no coding projects yet: 'surveykit coding create PROJECT --survey SLUG' or "
                   "'surveykit coding import PROJECT FILE'")
    for project in found:
        stats = projects.project_stats(session, project)
        sources = ", ".join(f"{s.survey}:{s.question}" for s in project.sources) or "imported"
        click.echo(f"{project.name:24} {stats['units']:6} units {stats['coders']:3} coders "
                   f"{stats['applications']:7} applications  {sources}")


@group.command("create")
@click.argument("name", metavar="PROJECT")
@click.option("--survey", "surveys", multiple=True, required=True, metavar="SLUG",
              help="Survey whose answers to code (repeat for several).")
@click.option("--question", "questions", multiple=True, metavar="QID",
              help="Open-ended question to code (repeat; QID.other for an 'Other' text). "
                   "Default: the questions marked 'coding: true'.")
@click.option("--codebook", "codebook_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Start from this codebook (.yaml or .qdc).")
@by_option
def create_command(name: str, surveys: tuple[str, ...], questions: tuple[str, ...], codebook_path: Path | None,
                   who: str) -> None:
    """Create PROJECT from the answers to open-ended questions of one or more surveys."""
    session = get_session()
    try:
        sources: list[tuple[str, str]] = []
        for slug in surveys:
            asked = [q for q in questions if has_question(session, slug, q)] if questions else []
            if questions and not asked:
                continue
            sources.extend((slug, q) for q in coded_questions(session, slug, asked))
        missing = [q for q in questions if not any(q == s[1] for s in sources)]
        if missing:
            raise ProjectError(f"question '{missing[0]}' is in none of the surveys {', '.join(surveys)}")
        project = projects.create_project(session, name, created_by=who)
        for slug, qid in sources:
            projects.add_source(session, project, slug, qid)
        result = projects.add_units(session, project, _units_from_surveys(session, sources))
        if codebook_path is not None:
            codebook_db.import_codebook(session, project, load_codebook(codebook_path), who,
                                        "initial codebook", source=codebook_path.name)
    except (ProjectError, InvalidCodingInput) as exc:
        raise _fail(session, exc) from None
    session.commit()
    round_name = f" as '{result.round.name}'" if result.round else ""
    click.echo(f"project '{name}': {result.added} answers to code{round_name} from "
               + ", ".join(f"{s}:{q}" for s, q in sources))


@group.command("add-answers")
@click.argument("name", metavar="PROJECT")
@click.option("--round", "round_name", help="Name of the new round (default: 'Round N').")
def add_answers_command(name: str, round_name: str | None) -> None:
    """Add answers that arrived since PROJECT was created (or last topped up), as a new round."""
    session = get_session()
    project = _project(session, name)
    if not project.sources:
        raise click.ClickException(f"project '{name}' has no survey questions (it was imported from a file)")
    try:
        result = projects.add_units(session, project,
                                    _units_from_surveys(session, [(s.survey, s.question) for s in project.sources]),
                                    round_name=round_name)
    except ProjectError as exc:
        raise _fail(session, exc) from None
    session.commit()
    if result.round is not None:
        click.echo(f"project '{name}': {result.added} new answers added as '{result.round.name}' "
                   f"({result.existing} already there)")
    else:
        click.echo(f"project '{name}': no new answers ({result.existing} already there)")


@group.command("import")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@by_option
def import_command(name: str, path: Path, who: str) -> None:
    """Import answers (and codings done elsewhere) from a .csv/.xlsx with unit, text[, coder, codes] columns.

    PROJECT is created if it does not exist. Codes are separated by ';' and levels by '/'.
    """
    session = get_session()
    try:
        project = projects.find_project(session, name)
        created = project is None
        if project is None:
            project = projects.create_project(session, name, created_by=who)
        result = import_sheet(session, project, path, who)
    except (ProjectError, InvalidSpreadsheet) as exc:
        raise _fail(session, exc) from None
    session.commit()
    click.echo(f"{'created' if created else 'updated'} project '{name}': {result.units_added} new units, "
               f"{result.reviews} codings by coders ({result.applications} codes applied), "
               f"{len(result.codes_created)} new codes")


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

    SOURCE is the project of that name when one exists, else a file.
    """
    app = _app(ctx)
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
                click.echo(json.dumps(report, indent=2, allow_nan=False) if as_json else _table(report))
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


def _app(ctx: click.Context) -> Flask | None:
    """Return the app when one can be loaded (the surveykit command, a test runner), else None."""
    try:
        return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]
    except RuntimeError:
        pass
    try:
        return ctx.ensure_object(ScriptInfo).load_app()
    except NoAppException:
        return None


@group.group("codebook")
def codebook_group() -> None:
    """Work with codebooks (YAML or REFI-QDA .qdc), a project's or on files."""


def _convert(in_path: Path, out_path: Path) -> None:
    try:
        book = convert(in_path, out_path)
    except InvalidCodebook as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.ClickException(f"{in_path}: {exc}") from None
    count = sum(1 for _ in book.walk())
    click.echo(f"wrote {out_path} ({count} codes)")


@codebook_group.command("convert", with_appcontext=False)
@click.argument("in_path", metavar="IN", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_path", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
def convert_command(in_path: Path, out_path: Path) -> None:
    """Convert a codebook between .yaml/.yml and .qdc, by extension."""
    _convert(in_path, out_path)


@codebook_group.command("import")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--why", default="imported codebook", show_default=True, help="Reason kept in the audit log.")
@by_option
def codebook_import_command(name: str, path: Path, why: str, who: str) -> None:
    """Merge a .yaml/.qdc codebook into PROJECT's: codes match by GUID (else by path); none is deleted."""
    session = get_session()
    project = _project(session, name)
    try:
        counts = codebook_db.import_codebook(session, project, load_codebook(path), who, why, source=path.name)
    except (ProjectError, InvalidCodebook) as exc:
        raise _fail(session, exc) from None
    session.commit()
    click.echo(f"project '{name}': {counts['added']} codes added, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged")


@codebook_group.command("export")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
def codebook_export_command(name: str, path: Path) -> None:
    """Write PROJECT's codebook to FILE (.yaml, .yml or .qdc, by extension)."""
    session = get_session()
    book = codebook_db.to_codebook(session, _project(session, name))
    try:
        save_codebook(book, path)
    except InvalidCodebook as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path} ({sum(1 for _ in book.walk())} codes)")


@codebook_group.command("diff")
@click.argument("name", metavar="PROJECT")
@click.option("--from", "old", type=click.IntRange(min=0), default=0, show_default=True,
              help="Codebook version to compare from (0: empty).")
@click.option("--to", "new", type=click.IntRange(min=0), help="Version to compare to (default: current).")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
def codebook_diff_command(name: str, old: int, new: int | None, as_json: bool) -> None:
    """Show what changed in PROJECT's codebook between two versions, with the audit log in between."""
    session = get_session()
    project = _project(session, name)
    new = codebook_db.current_version(session, project.id) if new is None else new
    try:
        changes = evolution.diff(session, project, old, new)
    except ProjectError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(changes, indent=2, ensure_ascii=False))
        return
    click.echo(f"codebook of '{name}', version {old} -> {new}")
    for key in ("added", "removed", "retired", "restored"):
        for path in changes[key]:
            click.echo(f"  {key:9} {path}")
    for key in ("renamed", "moved"):
        for change in changes[key]:
            click.echo(f"  {key:9} {change['from']} -> {change['to']}")
    for change in changes["edited"]:
        click.echo(f"  {'edited':9} {change['path']} ({', '.join(change['fields'])})")
    for e in changes["entries"]:
        click.echo(f"v{e['version']} {e['at']} {e['who']}: {e['action']} {describe(e['action'], e['detail'])}"
                   + (f" -- {e['why']}" if e["why"] else ""))


def _evolve(name: str, action: Callable[[Session, Project], str]) -> None:
    session = get_session()
    project = _project(session, name)
    try:
        message = action(session, project)
    except ProjectError as exc:
        raise _fail(session, exc) from None
    session.commit()
    click.echo(message)


@group.command("rename")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="CODE")
@click.argument("new_name", metavar="NEW_NAME")
@why_option
@by_option
def rename_command(name: str, path: str, new_name: str, why: str, who: str) -> None:
    """Rename CODE (a path such as 'Effectiveness/Hope'); its applications stay."""
    _evolve(name, lambda s, p: f"renamed {path} to {evolution.rename(s, p, path, new_name, who, why).name}")


@group.command("merge")
@click.argument("name", metavar="PROJECT")
@click.argument("source", metavar="CODE")
@click.argument("target", metavar="INTO")
@why_option
@by_option
def merge_command(name: str, source: str, target: str, why: str, who: str) -> None:
    """Merge CODE into INTO: its applications, consensus codes and subcodes move to INTO."""
    def run(s: Session, p: Project) -> str:
        r = evolution.merge(s, p, source, target, who, why)
        return (f"merged {source} into {target}: {r.moved} applications moved, {r.collapsed} collapsed "
                f"(coder had both), {r.consensus_moved + r.consensus_collapsed} consensus codes, "
                f"{r.children_moved} subcodes moved")
    _evolve(name, run)


@group.command("split")
@click.argument("name", metavar="PROJECT")
@click.argument("source", metavar="CODE")
@click.argument("into", metavar="NEW...", nargs=-1, required=True)
@why_option
@by_option
def split_command(name: str, source: str, into: tuple[str, ...], why: str, who: str) -> None:
    """Split CODE into two or more codes (names become siblings; paths are used as given).

    CODE is retired and every unit it was applied to is queued for its coder to re-review.
    """
    def run(s: Session, p: Project) -> str:
        r = evolution.split(s, p, source, into, who, why)
        return (f"split {source} into {', '.join(r.targets)}: {r.queued} applications and {r.consensus_queued} "
                "consensus decisions queued for re-review")
    _evolve(name, run)


@group.command("move")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="CODE")
@click.option("--to", "parent", metavar="PARENT", help="New parent code (omit to move to the top level).")
@why_option
@by_option
def move_command(name: str, path: str, parent: str | None, why: str, who: str) -> None:
    """Move CODE (with its subcodes) under PARENT, or to the top level."""
    def run(s: Session, p: Project) -> str:
        evolution.move(s, p, path, parent, who, why)
        return f"moved {path} to {parent or 'the top level'}"
    _evolve(name, run)


@group.command("retire")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="CODE")
@click.option("--restore", is_flag=True, help="Offer a retired code again.")
@why_option
@by_option
def retire_command(name: str, path: str, restore: bool, why: str, who: str) -> None:
    """Retire CODE: kept on existing codings, no longer offered for new ones."""
    def run(s: Session, p: Project) -> str:
        evolution.retire(s, p, path, who, why, retired=not restore)
        return f"{'restored' if restore else 'retired'} {path}"
    _evolve(name, run)


@group.command("rounds")
@click.argument("name", metavar="PROJECT")
@click.option("--close", "close", metavar="ROUND", help="Close this round: everyone then sees every code on it.")
def rounds_command(name: str, close: str | None) -> None:
    """List PROJECT's rounds with each coder's progress; --close ROUND ends one."""
    session = get_session()
    project = _project(session, name)
    if close:
        try:
            rounds.close_round(session, rounds.get_round(session, project, close))
        except ProjectError as exc:
            raise _fail(session, exc) from None
        session.commit()
        click.echo(f"round '{close}' is closed")
        return
    for rnd in rounds.rounds(session, project):
        click.echo(f"{rnd.name} ({rnd.state})")
        for p in rounds.round_progress(session, rnd):
            click.echo(f"  {p['coder']:32} {p['reviewed']:6}/{p['total']:<6} "
                       f"{'finished' if p['finished'] else 'coding'}")


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
def export_command(name: str, out: Path, quotes: int, respondents: int | None, bootstrap: int) -> None:
    """Write PROJECT's theme tables, agreement, matrices, co-occurrence and audit log to an .xlsx workbook."""
    if out.suffix.lower() != ".xlsx":
        raise click.ClickException(f"{out}: the workbook is written as .xlsx")
    session = get_session()
    project = _project(session, name)
    from coding.workbook import gather, write_workbook  # NumPy: only for this command

    click.echo("computing tables and agreement ...", err=True)
    data = gather(session, project, quotes=quotes, respondents=respondents, bootstrap=bootstrap)
    count = 5 + len(data.tables.domains) + len(data.coder_matrices)  # see write_workbook
    with click.progressbar(length=count, label="writing sheets", file=sys.stderr) as bar:
        sheets = write_workbook(data, out, progress=lambda _sheet: bar.update(1))
    click.echo(f"wrote {out} ({len(sheets)} sheets: {', '.join(sheets)})")
