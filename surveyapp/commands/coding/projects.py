"""`surveykit coding list|create|add-answers|import|rounds`: projects, their answers and rounds."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session

from coding import projects, rounds
from coding.codebook import stored as codebook_db
from coding.codebook.files import load_codebook
from coding.errors import InvalidCodingInput, InvalidSpreadsheet
from coding.importing import import_sheet
from coding.store import ProjectError

from ...coding_sources import (
    coded_questions,
    create_from_surveys,
    has_question,
    refresh_units,
    response_total,
    units_from_surveys,
)
from ...db import get_session
from .common import by_option, fail, get_project, group


def _units_from_surveys(session: Session, sources: list[tuple[str, str]]) -> list[projects.NewUnit]:
    total = sum(response_total(session, slug) for slug in {slug for slug, _ in sources})
    with click.progressbar(length=total, label="reading answers", file=sys.stderr) as bar:
        return units_from_surveys(session, sources, tick=lambda: bar.update(1))


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
        project, result = create_from_surveys(session, name, sources, who, _units_from_surveys(session, sources),
                                              empty_ok=True)
        if codebook_path is not None:
            codebook_db.import_codebook(session, project, load_codebook(codebook_path), who,
                                        "initial codebook", source=codebook_path.name)
    except (ProjectError, InvalidCodingInput) as exc:
        raise fail(session, exc) from None
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
    project = get_project(session, name)
    total = sum(response_total(session, slug) for slug in {s.survey for s in project.sources})
    try:
        with click.progressbar(length=total, label="reading answers", file=sys.stderr) as bar:
            result = refresh_units(session, project, round_name, tick=lambda: bar.update(1))
    except ProjectError as exc:
        raise fail(session, exc) from None
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
        raise fail(session, exc) from None
    session.commit()
    click.echo(f"{'created' if created else 'updated'} project '{name}': {result.units_added} new units, "
               f"{result.reviews} codings by coders ({result.applications} codes applied), "
               f"{len(result.codes_created)} new codes")


@group.command("rounds")
@click.argument("name", metavar="PROJECT")
@click.option("--close", "close", metavar="ROUND", help="Close this round: everyone then sees every code on it.")
def rounds_command(name: str, close: str | None) -> None:
    """List PROJECT's rounds with each coder's progress; --close ROUND ends one."""
    session = get_session()
    project = get_project(session, name)
    if close:
        try:
            rounds.close_round(session, rounds.get_round(session, project, close))
        except ProjectError as exc:
            raise fail(session, exc) from None
        session.commit()
        click.echo(f"round '{close}' is closed")
        return
    for rnd in rounds.rounds(session, project):
        click.echo(f"{rnd.name} ({rnd.state})")
        for p in rounds.round_progress(session, rnd):
            click.echo(f"  {p['coder']:32} {p['reviewed']:6}/{p['total']:<6} "
                       f"{'finished' if p['finished'] else 'coding'}")
