"""`surveykit studies`: studies with waves and arms (create, waves, enroll, randomize, the key table, compare)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from exports.tabular.csvwrite import write_rows
from exports.tabular.errors import TableError
from exports.trial import TrialError, compare, pre_post
from exports.trialtable import comparison_table, pre_post_table, write_comparison_workbook
from instrument.allocation import RandomizationError, parse_ratio

from ..db import get_session
from ..invitations.roster import RosterEntry, RosterError, import_roster, read_roster
from ..models import Invitation, Survey
from ..scrub import scrub_history
from ..studies.analysis import linked_participants, panel_waves
from ..studies.models import Study, StudyError, StudyLink, StudyRandomization
from ..studies.randomizing import (
    ALLOCATION_HEADER,
    allocation_rows,
    randomize,
    settings_of,
    unallocated,
)
from ..studies.store import (
    add_wave,
    create_study,
    destroy_key,
    enroll,
    find_study,
    find_wave,
    key_rows,
    participants,
    waves,
)
from .options import parse_date
from .surveys import invite as invite_survey
from .trial import echo_table

group = AppGroup("studies", help="Studies: surveys as waves, participants with arms, their comparison.")


def _study(slug: str) -> Study:
    try:
        return find_study(get_session(), slug)
    except StudyError as exc:
        raise click.ClickException(str(exc)) from None


def _csv_path(out: Path) -> Path:
    if out.suffix.lower() != ".csv":
        raise click.ClickException(f"--out {out.name}: give a .csv file")
    return out


@group.command("create")
@click.argument("slug")
@click.option("--title", default="", help="The study's title (default: its id).")
@click.option("--linkage", type=click.Choice(["confidential", "anonymous_panel"]), required=True,
              help="confidential: known participants with a study id each; anonymous_panel: respondents link "
                   "their waves with a self-generated code.")
@click.option("--code-questions", default="", metavar="Q1,Q2",
              help="Anonymous panel: the questions whose answers, joined, make each respondent's code.")
@click.option("--random-code", default="", metavar="QUESTION",
              help="Anonymous panel: show a random code at the end of wave 1; later waves ask for it in the text "
                   "question QUESTION.")
def create_command(slug: str, title: str, linkage: str, code_questions: str, random_code: str) -> None:
    """Create study SLUG."""
    db = get_session()
    try:
        create_study(db, slug, title, linkage, [q.strip() for q in code_questions.split(",") if q.strip()],
                     random_code.strip())
    except StudyError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"study '{slug}' ({linkage}) created; add its waves with 'surveykit studies add-wave {slug} SURVEY'")


@group.command("add-wave")
@click.argument("slug")
@click.argument("survey")
@click.option("--label", default="", help='What the wave is called, e.g. "baseline", "3 months".')
@click.option("--number", type=click.IntRange(1, 1000), help="The wave's number (default: the next).")
def add_wave_command(slug: str, survey: str, label: str, number: int | None) -> None:
    """Make SURVEY a wave of study SLUG."""
    db = get_session()
    study = _study(slug)
    try:
        wave = add_wave(db, study, survey, label, number)
    except StudyError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"survey '{survey}' is wave {wave.number} ({wave.label}) of study '{slug}'")


@group.command("list")
def list_command() -> None:
    """List studies with their waves and participants."""
    db = get_session()
    studies = db.scalars(select(Study).order_by(Study.slug)).all()
    if not studies:
        click.echo("no studies yet: create one with 'surveykit studies create SLUG --linkage confidential'")
    for study in studies:
        count = len(participants(db, study))
        randomized = " randomized" if db.get(StudyRandomization, study.slug) else ""
        click.echo(f"{study.slug:24} {study.linkage:16} {count:5} participants{randomized}  {study.title}")
        for wave in waves(db, study):
            click.echo(f"  wave {wave.number} ({wave.label}): survey '{wave.survey_slug}'")


@group.command("enroll")
@click.argument("slug")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or XLSX: email, department (the stratum), and optionally arm.")
@click.option("--email", help="Enroll one participant (with --department).")
@click.option("--department", help="The participant's department (the stratum).")
@click.option("--arm", default="", help="The participant's arm, in a study that is not randomized.")
@click.option("--today", callback=parse_date, hidden=True, help="Pretend today is this day (tests).")
def enroll_command(slug: str, roster: Path | None, email: str | None, department: str | None, arm: str,
                   today: dt.date | None) -> None:
    """Enroll participants in study SLUG: a study id each; in a randomized study, their arm, revealed now."""
    db = get_session()
    study = _study(slug)
    if (roster is None) == (email is None):
        raise click.ClickException("give either --roster FILE or --email with --department")
    try:
        if roster is not None:
            source = str(roster)
            entries = read_roster(roster.read_bytes(), source)
        else:
            source = "--email"
            text = f"email,department,arm\n{email},{department or ''},{arm}\n".encode()
            entries = read_roster(text, source)
        done = enroll(db, study, entries, source, today or dt.date.today())
    except (RosterError, StudyError) as exc:
        db.rollback()
        raise click.ClickException(f"nobody enrolled:\n{exc}") from None
    db.commit()
    for person in done:
        click.echo(f"{person.study_id}  {person.stratum}  {person.arm or '(no arm)'}")
    click.echo(f"{len(done)} enrolled in '{slug}'")


@group.command("randomize")
@click.argument("slug")
@click.option("--arms", required=True, metavar="A,B", help="The arms, e.g. intervention,control.")
@click.option("--ratio", default="", metavar="1:1", help="Allocation ratio, one part per arm (default 1:1...).")
@click.option("--block-sizes", default="", metavar="2,4", help="Block sizes, each a multiple of the ratio's sum.")
@click.option("--strata", default="", type=click.Choice(["", "department"]), help="Stratify by department.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="The list's seed (default: a random one).")
@click.option("--today", callback=parse_date, hidden=True, help="Pretend today is this day (tests).")
def randomize_command(slug: str, arms: str, ratio: str, block_sizes: str, strata: str, seed: int | None,
                      today: dt.date | None) -> None:
    """Randomize study SLUG with permuted blocks; each participant's arm is revealed only when enrolled."""
    db = get_session()
    study = _study(slug)
    names = [a.strip() for a in arms.split(",") if a.strip()]
    try:
        parts = parse_ratio(ratio or ":".join("1" for _ in names), names)
        sizes = [int(s) for s in (block_sizes or str(2 * sum(parts))).split(",")]
    except RandomizationError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError:
        raise click.ClickException(f"--block-sizes '{block_sizes}': whole numbers separated by ','") from None
    chosen = seed if seed is not None else secrets.randbits(62)
    try:
        allocated = randomize(db, study, names, parts, sizes, strata, chosen, today or dt.date.today())
    except StudyError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"study '{slug}' randomized: {', '.join(names)} {':'.join(map(str, parts))}, blocks of "
               f"{', '.join(map(str, sorted(set(sizes))))}{', stratified by department' if strata else ''}; the "
               "seed and list are sealed (key file in instance/studies/: back it up), each place revealed at "
               "enrollment")
    if allocated:
        click.echo(f"{allocated} participants enrolled earlier were allocated now")


@group.command("allocation")
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the table (.csv).")
@click.option("--with-seed", is_flag=True,
              help="Also show the seed and settings (for the trial's records, once enrollment is over).")
def allocation_command(slug: str, out: Path | None, with_seed: bool) -> None:
    """Show the allocation table: each place used so far (never one not yet enrolled)."""
    db = get_session()
    study = _study(slug)
    rows = allocation_rows(db, study)
    try:
        settings = settings_of(db, study)
        waiting = unallocated(db, study)
    except StudyError as exc:
        raise click.ClickException(str(exc)) from None
    if with_seed:
        still_open = [w.survey_slug for w in waves(db, study)
                      if (survey := db.get(Survey, w.survey_slug)) is None or survey.state() != "closed"]
        if waiting or still_open or not waves(db, study):
            raise click.ClickException("the seed would reveal the arms of anyone enrolled later: it is shown once "
                                       "every wave is closed and everybody allocated (waves still open: "
                                       f"{', '.join(still_open) or 'no wave yet'}; {waiting} not allocated)")
        click.echo(f"seed {settings['seed']}; arms {', '.join(settings['arms'])}; ratio "
                   f"{':'.join(map(str, settings['ratio']))}; block sizes "
                   f"{', '.join(map(str, settings['block_sizes']))}; strata: {settings['strata_by'] or 'none'}")
    if out is not None:
        header = [*ALLOCATION_HEADER, *(["Seed"] if with_seed else [])]
        write_rows(_csv_path(out), header, ([*r, settings["seed"]] if with_seed else r for r in rows))
        click.echo(f"wrote {len(rows)} allocations to {out}")
        return
    click.echo("  ".join(ALLOCATION_HEADER))
    for row in rows:
        click.echo("  ".join(str(c) for c in row))
    click.echo(f"{len(rows)} allocated")


@group.command("invite")
@click.argument("slug")
@click.option("--wave", "wave_ref", required=True, help="The wave's number or label.")
@click.option("--today", callback=parse_date, hidden=True, help="Pretend today is this day (tests).")
@click.pass_context
def invite_command(ctx: click.Context, slug: str, wave_ref: str, today: dt.date | None) -> None:
    """Invite every participant of confidential study SLUG to a wave, from the key table, and send."""
    db = get_session()
    study = _study(slug)
    try:
        wave = find_wave(db, study, wave_ref, 1)
    except StudyError as exc:
        raise click.ClickException(str(exc)) from None
    if study.linkage != "confidential":
        raise click.ClickException(f"study '{slug}' is an anonymous panel: invite its wave's survey itself "
                                   f"('surveykit surveys invite {wave.survey_slug} ROSTER')")
    survey = db.get(Survey, wave.survey_slug)
    assert survey is not None
    known = set(db.scalars(select(Invitation.email).where(Invitation.survey_slug == survey.slug)))
    strata = {p.study_id: p.stratum for p in participants(db, study)}
    entries = [RosterEntry(0, email, strata[sid]) for sid, email in key_rows(db, study) if email not in known]
    if not entries and not known:
        raise click.ClickException(f"study '{slug}' has no key table (destroyed?) or no participants: nobody to "
                                   "invite")
    try:
        added = import_roster(db, survey, entries, f"study '{slug}'") if entries else 0
    except RosterError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    db.commit()
    click.echo(f"{added} participants added to wave {wave.number} (survey '{survey.slug}')")
    ctx.invoke(invite_survey, slug=survey.slug, roster=None, today=today)


@group.command("export-key")
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The .csv to write.")
def export_key_command(slug: str, out: Path) -> None:
    """Write the key table (study id, address) to a CSV for the team's records."""
    study = _study(slug)
    count = write_rows(_csv_path(out), ["study_id", "email"], key_rows(get_session(), study))
    click.echo(f"wrote {count} keys to {out}; keep it as safely as a list of names")


@group.command("destroy-key")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Confirm: nobody can be linked to a study id afterwards.")
def destroy_key_command(slug: str, yes: bool) -> None:
    """Destroy the key table: afterwards nothing links an address to a study id."""
    db = get_session()
    study = _study(slug)
    if not yes:
        raise click.ClickException("destroying the key table cannot be undone: nobody can be invited to a further "
                                   "wave or linked to a study id again. Export it first if the team must keep "
                                   "it ('surveykit studies export-key'), then run this again with --yes")
    count = destroy_key(db, study)
    db.commit()
    warning = scrub_history(db.get_bind())  # type: ignore[arg-type]
    click.echo(f"key table of '{slug}' destroyed ({count} links) and the database rewritten so no old copy remains")
    if warning:
        click.echo(f"warning: {warning}", err=True)


@group.command("match")
@click.argument("slug")
@click.option("--baseline", "first", metavar="WAVE", help="The first wave (number or label; default: wave 1).")
@click.option("--follow-up", "second", metavar="WAVE", help="The second wave (default: wave 2).")
def match_command(slug: str, first: str | None, second: str | None) -> None:
    """Match an anonymous panel's codes between two waves: matched, ambiguous, unmatched, duplicates."""
    db = get_session()
    study = _study(slug)
    if study.linkage != "anonymous_panel":
        raise click.ClickException(f"study '{slug}' is confidential: its waves are linked by study id")
    try:
        one, two = find_wave(db, study, first, 1), find_wave(db, study, second, 2)
        matching = panel_waves(db, study, one, two, None).matching
    except StudyError as exc:
        raise click.ClickException(str(exc)) from None
    for what, n in matching.summary():
        click.echo(f"{what}: {n}")
    for amb in matching.ambiguous:
        click.echo(f"  ambiguous, wave {amb.wave}: {amb.code} could be {' or '.join(amb.candidates)} (not merged)")
    for code, n in {**matching.duplicates_first, **matching.duplicates_second}.items():
        click.echo(f"  duplicate: {code} given {n} times in one wave (not matched)")


@group.command("compare")
@click.argument("slug")
@click.option("--outcome", "outcomes", required=True, multiple=True, help="A score (e.g. burnout); repeatable.")
@click.option("--baseline", "first", metavar="WAVE", help="The baseline wave (number or label; default: wave 1).")
@click.option("--follow-up", "second", metavar="WAVE", help="The follow-up wave (default: wave 2).")
@click.option("--arms", metavar="FIRST,SECOND", help="Which arm is compared with which (first minus second).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the tables (.xlsx).")
def compare_command(slug: str, outcomes: tuple[str, ...], first: str | None, second: str | None,
                    arms: str | None, out: Path | None) -> None:
    """Compare each OUTCOME between two waves of study SLUG: by arm, or one group (paired where linked)."""
    if out is not None and out.suffix.lower() != ".xlsx":
        raise click.ClickException(f"--out {out.name}: give an .xlsx file")
    db = get_session()
    study = _study(slug)
    tables = []
    try:
        one, two = find_wave(db, study, first, 1), find_wave(db, study, second, 2)
        for outcome in outcomes:
            if study.linkage == "anonymous_panel":
                panel = panel_waves(db, study, one, two, outcome)
                result = pre_post(panel.pairs, panel.baseline_only, panel.follow_up_only)
                tables.append(pre_post_table(result, outcome))
                continue
            rows = linked_participants(db, study, one, two, outcome)
            if {p.arm for p in rows} == {"All"}:
                tables.append(pre_post_table(pre_post((p.baseline, p.follow_up) for p in rows), outcome))
            else:
                order = [a.strip() for a in arms.split(",")] if arms else None
                tables.append(comparison_table(compare(rows, order), outcome))
    except (StudyError, TrialError, TableError) as exc:
        raise click.ClickException(str(exc)) from None
    if study.linkage == "anonymous_panel":
        click.echo("Linked by matched panel codes: " + "; ".join(f"{w} {n}" for w, n in panel.matching.summary()))
    else:
        linked = db.scalar(select(func.count()).select_from(StudyLink).where(StudyLink.study_slug == slug))
        click.echo(f"Linked by study id ({linked} responses linked across the study's waves)")
    for table in tables:
        echo_table(table)
        click.echo("")
    if out is not None:
        write_comparison_workbook(out, tables, f"{study.title}: {', '.join(outcomes)}, wave {one.number} "
                                  f"({one.label}) to wave {two.number} ({two.label})")
        click.echo(f"wrote {out}")
