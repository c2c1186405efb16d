"""`surveykit export`, `surveykit import`, `surveykit reach`: workbooks out, answers in, the reach report."""

from __future__ import annotations

import datetime as dt
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from exports.csvout import write_csv
from exports.imports import ImportFailed, ImportReport, load_mapping
from exports.readers import InvalidImport, read_table
from exports.statfiles import write_statfile
from instrument import question_type
from instrument.reportfile import InvalidReport

from ..db import get_session
from ..exporting import audience_rule, mix_waiting, report_file, stream_answers, survey_info
from ..importing import import_answers
from ..models import Survey
from ..surveys import instrument_of, response_count
from .options import parse_date

PROGRESS_FROM = 2000  # responses: below this an export is quick enough to need no progress bar


def survey_or_fail(session: Session, slug: str) -> Survey:
    """Return the survey *slug*, or stop with a clear message."""
    survey = session.get(Survey, slug)
    if survey is None:
        raise click.ClickException(f"no survey '{slug}' (see 'surveykit surveys list')")
    return survey


# format -> (file suffix, what it is called in messages)
SUFFIXES = {"xlsx": (".xlsx", "Excel"), "csv": (".csv", "CSV"), "sav": (".sav", "SPSS"), "dta": (".dta", "Stata")}
MISSING_NOTE = {"sav": "user-missing -8 not shown, -9 shown but not answered",
                "dta": "extended missing .a not shown, .b shown but not answered"}


def output_format(out: Path, fmt: str | None) -> str:
    """Return the format to write *out* in: --format, else its suffix's; a suffix naming no format (without
    --format), or another format than --format, is refused, so no file is ever written under a wrong name."""
    by_suffix = {suffix: name for name, (suffix, _) in SUFFIXES.items()}
    suffix = out.suffix.lower()
    known = ", ".join(suffix for suffix, _ in SUFFIXES.values())
    if suffix not in by_suffix and fmt is not None:
        return fmt
    if suffix not in by_suffix:
        raise click.ClickException(f"--out {out.name}: '{suffix or 'no suffix'}' is not a file type this command "
                                   f"writes ({known}); give one, or --format")
    if fmt is not None and by_suffix[suffix] != fmt:
        raise click.ClickException(f"--out {out.name} names a {SUFFIXES[by_suffix[suffix]][1]} file but --format is "
                                   f"{fmt}: give the file a {SUFFIXES[fmt][0]} name")
    return by_suffix[suffix]


def _bar(total: int, label: str) -> AbstractContextManager[Any]:
    if total < PROGRESS_FROM:
        return nullcontext(None)
    # On stderr, so `--format csv` and messages on stdout stay clean for pipes.
    return click.progressbar(length=total, label=label, file=sys.stderr)


@click.command("export")
@click.argument("slug")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: .xlsx workbook, .csv raw data, .sav (SPSS) or .dta (Stata) raw data with labels.")
@click.option("--format", "fmt", type=click.Choice(list(SUFFIXES)), default=None,
              help="Output format (default: from --out's suffix, which must be .xlsx, .csv, .sav or .dta).")
@click.option("--shared", is_flag=True,
              help="A report to share outside the research team: counts below SURVEYKIT_MIN_CELL hidden, with "
                   "every cell that could give one back; no raw data, no free text (xlsx only).")
@click.option("--no-suppression", is_flag=True, hidden=True,
              help="Exact counts: the default for the research team's export (kept for old scripts).")
@click.option("--by", multiple=True, metavar="QUESTION",
              help="Also compare every question across the answers to this single-choice question (repeatable).")
@click.option("--no-raw", is_flag=True, help="Leave out the raw data and data dictionary sheets (tables only, still "
              "exact: to share outside the team, use --shared).")
@click.option("--include-test", is_flag=True,
              help="Also the answers given through the survey's test link (left out by default; not with --shared).")
@with_appcontext
def export_command(slug: str, out: Path, fmt: str | None, shared: bool, no_suppression: bool, by: tuple[str, ...],
                   no_raw: bool, include_test: bool) -> None:
    """Write survey SLUG's tables, charts and raw data to an Excel workbook (or raw data to CSV, SPSS, Stata).

    Exact counts, for the research team; --shared writes the report to share outside it.
    """
    session = get_session()
    survey = survey_or_fail(session, slug)
    mix_waiting(session, survey)
    instrument = instrument_of(survey)
    fmt = output_format(out, fmt)
    if not out.parent.is_dir():
        raise click.ClickException(f"{out.parent}: no such folder")
    if shared and include_test:
        raise click.UsageError("--shared is the report for outside the team and never holds test answers: drop "
                               "--include-test")
    if shared and no_suppression:
        raise click.UsageError("--shared hides small counts and --no-suppression shows them: choose one")
    if shared and fmt != "xlsx":
        raise click.ClickException(f"a shared report holds no raw data, so it is a workbook: give --out a .xlsx "
                                   f"name ({SUFFIXES[fmt][1]} files are raw data, for the team only)")
    if fmt != "xlsx" and (by or no_raw):
        raise click.ClickException(f"{SUFFIXES[fmt][1]} holds the raw data only, no tables: --by and --no-raw "
                                   "apply to xlsx")
    for qid in by:
        try:
            question = instrument.question(qid)
        except KeyError:
            raise click.ClickException(f"--by {qid}: no question '{qid}' in '{instrument.id}'") from None
        if question_type(question.type).summary != "choice":
            raise click.ClickException(f"--by {qid}: cross-tabulation needs a single-choice question "
                                       f"('{qid}' is {question.type})")
    report = None
    if fmt == "xlsx" and not shared:  # its figures are not protected with the tables: the team's export only
        try:
            report = report_file(instrument)
        except InvalidReport as exc:
            raise click.ClickException(f"nothing written: {exc}") from None
    total = response_count(session, slug, include_test)
    with _bar(total, f"exporting {total} responses") as bar:
        answers = stream_answers(session, slug, bar.update if bar is not None else None, include_test)
        if fmt == "csv":
            written = write_csv(out, instrument, answers)
            click.echo(f"wrote {written} responses to {out}")
            return
        if fmt in ("sav", "dta"):
            written = write_statfile(out, instrument, answers, fmt, survey.title)
            click.echo(f"wrote {written} responses to {out} ({SUFFIXES[fmt][1]}: variable and value labels; "
                       f"{MISSING_NOTE[fmt]})")
            return
        rule = audience_rule(shared)
        result = _workbook_writer()(out, instrument, survey_info(session, survey, total, rule), answers, rule, by,
                                raw=not (no_raw or shared), report=report)
    note = (f" (shared report: {result.hidden} counts hidden, no raw data, no free text; stated on the summary "
            "sheet)" if rule.enabled else " (exact counts, for the research team)")
    click.echo(f"wrote {result.respondents} responses to {out}: sheets {', '.join(result.sheets)}{note}")


def _workbook_writer() -> Any:
    """Import the workbook writer (openpyxl loads for a workbook only, not with every command).

    openpyxl imports numpy, when it is installed, only to accept numpy numbers in cells: 15 MB of a 100 MB budget
    (bench/export.py). The workbook holds Python values only (exports/ computes without numpy), so in a process
    that has not loaded numpy or openpyxl yet, numpy is hidden from that one import; numpy imports normally after.
    """
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        from exports.workbook import write_workbook
    else:
        sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` raises ImportError meanwhile
        try:
            from exports.workbook import write_workbook
        finally:
            del sys.modules["numpy"]
    return write_workbook


@click.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML file mapping the file's columns (and answer texts) to question ids (and codes).")
@click.option("--skip-invalid", is_flag=True,
              help="Import the valid rows and list the invalid ones in the report (default: import nothing).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the report (CSV). Default with --skip-invalid: FILE.import-report.csv.")
@click.option("--strict", is_flag=True,
              help="Refuse texts that are not options even where the file puts Other texts (Microsoft Forms); "
                   "without it they are stored as Other and listed with counts.")
@with_appcontext
def import_command(slug: str, file: Path, mapping: Path | None, skip_invalid: bool,
                   report_path: Path | None, strict: bool) -> None:
    """Import answers to survey SLUG from FILE (.csv or .xlsx: Microsoft Forms, Qualtrics, or our raw export)."""
    session = get_session()
    survey = survey_or_fail(session, slug)
    if skip_invalid and report_path is None:
        report_path = file.with_name(file.name + ".import-report.csv")
    try:
        table = read_table(file)
        rules = load_mapping(mapping, instrument_of(survey)) if mapping is not None else None
        with _bar(table.estimate_rows(), f"checking {file.name}") as bar:
            report = import_answers(session, survey, table, rules, skip_invalid=skip_invalid, strict=strict,
                                    progress=bar.update if bar is not None else None)
    except ImportFailed as exc:
        click.echo(f"read as: {table.layout}", err=True)
        if report_path is not None:
            failed = ImportReport(source=file.name, skipped=exc.problems, layout=table.layout)
            failed.write(report_path)
            click.echo(f"report: {report_path}", err=True)
        raise click.ClickException(str(exc)) from None
    except InvalidImport as exc:
        raise click.ClickException(f"nothing imported: {exc}") from None
    if report_path is not None:
        report.write(report_path)
    _echo_report(report, report_path)


def _echo_report(report: ImportReport, report_path: Path | None) -> None:
    click.echo(f"read as: {report.layout}")
    click.echo(f"imported {report.imported} responses from {report.source}")
    by_reason: dict[str, list[str]] = {}
    for header, reason in report.dropped_columns:
        by_reason.setdefault(reason, []).append(f"'{header}'")
    for reason, names in by_reason.items():
        click.echo(f"dropped columns ({reason}): {', '.join(names)}")
    if report.left_out:
        click.echo(f"left out {len(report.left_out)} preview/test/spam rows")
    if report.skipped:
        click.echo(f"skipped {report.skipped_rows} invalid rows ({len(report.skipped)} problems)")
    if report.dropped_answers:
        click.echo(f"dropped {len(report.dropped_answers)} answers to questions the skip logic hides")
    for note in report.notes:
        click.echo(f"note: {note}")
    summary = report.other_summary()
    if summary:
        click.echo(f"stored as Other ({len(report.as_other)} answers; not among the options; map them under "
                   "values: if they mean an option; --strict refuses them):")
        for question, column, text, count in summary:
            click.echo(f"  {question}, {column}: {text!r} x{count}")
    if report_path is not None:
        click.echo(f"report: {report_path}")


@click.command("reach")
@click.argument("slug")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Workbook to write.")
@click.option("--start", callback=parse_date, help="First day of the period and of program year 1 (YYYY-MM-DD; "
              "default: the survey's opening day, else the first record).")
@click.option("--end", callback=parse_date, help="Last day of the period (default: the survey's closing day, else the "
              "last record).")
@click.option("--shared", is_flag=True, help="A report to share outside the research team: counts below "
              "SURVEYKIT_MIN_CELL hidden, with every month, year or total that could give one back.")
@click.option("--no-suppression", is_flag=True, hidden=True, help="Exact counts (the default; for old scripts).")
@with_appcontext
def reach_command(slug: str, out: Path, start: dt.date | None, end: dt.date | None, shared: bool,
                  no_suppression: bool) -> None:
    """Write the reach report of interaction-record survey SLUG (by department, month, program year, length)."""
    from exports.reach import DATE_QUESTION, DEPARTMENT_QUESTION, LENGTH_QUESTION, reach_report, write_reach_workbook

    session = get_session()
    survey = survey_or_fail(session, slug)
    mix_waiting(session, survey)
    instrument = instrument_of(survey)
    # The report reads a day, one option code and a number: any type summarised as such will do.
    needed = {DATE_QUESTION: ("date", "date"), DEPARTMENT_QUESTION: ("choice", "single_choice"),
              LENGTH_QUESTION: ("number", "number")}
    for qid, (kind, named) in needed.items():
        try:
            question = instrument.question(qid)
        except KeyError:
            raise click.ClickException(f"survey '{slug}' serves '{instrument.id}', which has no '{qid}' question; "
                                       "the reach report reads interaction-record surveys") from None
        if question_type(question.type).summary != kind:
            raise click.ClickException(f"question '{qid}' of '{instrument.id}' is {question.type}, not {named}")
    start = start or survey.opens_on
    end = end or survey.closes_on
    if start and end and end < start:
        raise click.ClickException(f"the period ends ({end}) before it starts ({start})")
    total = response_count(session, slug)
    with _bar(total, f"reading {total} records") as bar:
        try:
            report = reach_report(stream_answers(session, slug, bar.update if bar is not None else None),
                                  instrument.question(DEPARTMENT_QUESTION).choices, start=start, end=end)
        except ValueError as exc:  # a period outside the dates answers may hold
            raise click.ClickException(str(exc)) from None
    if not out.parent.is_dir():
        raise click.ClickException(f"{out.parent}: no such folder")
    if shared and no_suppression:
        raise click.UsageError("--shared hides small counts and --no-suppression shows them: choose one")
    write_reach_workbook(out, report, survey_info(session, survey, total), audience_rule(shared))
    click.echo(f"wrote the reach report of {report.interactions} interactions "
               f"({report.start} to {report.end}) to {out}")
    for note in report.notes:
        click.echo(f"note: {note}")


COMMANDS = (export_command, import_command, reach_command)
