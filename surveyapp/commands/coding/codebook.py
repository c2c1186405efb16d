"""`surveykit coding codebook ...` and the codebook's evolution: rename, merge, split, move, retire codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from sqlalchemy.orm import Session

from coding import evolution
from coding.codebook import stored as codebook_db
from coding.codebook.files import convert, load_codebook, save_codebook
from coding.errors import InvalidCodebook
from coding.store import Project, ProjectError

from ...db import get_session
from .common import by_option, fail, get_project, group, why_option


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
    project = get_project(session, name)
    try:
        counts = codebook_db.import_codebook(session, project, load_codebook(path), who, why, source=path.name)
    except (ProjectError, InvalidCodebook) as exc:
        raise fail(session, exc) from None
    session.commit()
    click.echo(f"project '{name}': {counts['added']} codes added, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged")


@codebook_group.command("export")
@click.argument("name", metavar="PROJECT")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
def codebook_export_command(name: str, path: Path) -> None:
    """Write PROJECT's codebook to FILE (.yaml, .yml or .qdc, by extension)."""
    session = get_session()
    book = codebook_db.to_codebook(session, get_project(session, name))
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
    project = get_project(session, name)
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
        detail = codebook_db.describe(e["action"], e["detail"])
        click.echo(f"v{e['version']} {e['at']} {e['who']}: {e['action']} {detail}"
                   + (f" -- {e['why']}" if e["why"] else ""))


def _evolve(name: str, action: Callable[[Session, Project], str]) -> None:
    session = get_session()
    project = get_project(session, name)
    try:
        message = action(session, project)
    except ProjectError as exc:
        raise fail(session, exc) from None
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
