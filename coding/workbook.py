"""The project workbook (.xlsx): theme tables per domain, agreement, unit x code matrices, co-occurrence, audit log.

Sheets, in order: ``Summary``; one sheet per domain (theme, level, definition, n (%) of units and of
respondents, representative quotes); ``Agreement``; ``Matrix <coder>`` per coder and ``Matrix final`` (0/1,
one row per unit); ``Co-occurrence``; ``Audit log``. Answer text is respondents' own words, so any text a
spreadsheet could run as a formula (starting with = + - @, a tab or a carriage return) is stored as a text
cell with Excel's quote-prefix style: shown as typed, never evaluated, unchanged when read back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from coding.agreement_report import summarize
from coding.codebook.stored import audit_log, current_version
from coding.codings import project_agreement
from coding.reconcile import final_codes
from coding.store import Project, ProjectError
from coding.tables import Matrix, ThemeTables, coder_matrices, cooccurrence, final_matrix, theme_tables
from exports.tabular.cells import sheet_title, styled
from exports.tabular.percent import n_pct
from exports.tabular.saving import discard, save_atomically
from exports.tabular.text import fit_cell

_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


def safe_text(ws: WriteOnlyWorksheet, text: str, *, bold: bool = False, wrap: bool = False) -> Any:
    """Return a cell for *text* (cut to what a cell holds) that a spreadsheet shows as typed and never runs."""
    return styled(ws, fit_cell(text), _BOLD if bold else None, _WRAP if wrap else None)


def _row(ws: WriteOnlyWorksheet, values: Sequence[Any], *, bold: bool = False, wrap: bool = False) -> list[Any]:
    return [safe_text(ws, v, bold=bold, wrap=wrap) if isinstance(v, str) else v for v in values]


@dataclass
class WorkbookData:
    """Everything the workbook shows, as plain data."""

    project: str
    codebook_version: int
    tables: ThemeTables
    agreement: dict[str, Any] | None
    coder_matrices: dict[str, Matrix]
    final_matrix: Matrix
    audit: list[dict[str, Any]]


def write_workbook(data: WorkbookData, path: str | PathLike[str],
                   progress: Callable[[str], None] | None = None) -> list[str]:
    """Write the workbook to *path* (atomically: nothing is left there if writing fails); return the sheet titles."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    step = progress or (lambda _name: None)

    def sheet(name: str) -> WriteOnlyWorksheet:
        step(name)
        return book.create_sheet(sheet_title(name, taken))

    try:
        _fill(sheet, data)
    except BaseException:
        discard(book)
        raise
    save_atomically(book, path)
    return [ws.title for ws in book.worksheets]


def _fill(sheet: Callable[[str], WriteOnlyWorksheet], data: WorkbookData) -> None:
    t = data.tables
    _summary(sheet("Summary"), data)
    for domain in t.domains:
        ws = sheet(domain.name)
        ws.column_dimensions["A"].width = 32
        ws.column_dimensions["C"].width = 40
        ws.column_dimensions["F"].width = 80
        ws.append(_row(ws, [domain.name], bold=True))
        if domain.definition:
            ws.append(_row(ws, [domain.definition]))
        ws.append(_row(ws, [f"Units with a theme of this domain: "
                            f"{n_pct(domain.n_units, t.n_units)} of {t.n_units} coded units"]))
        ws.append([])
        ws.append(_row(ws, ["Theme", "Level", "Definition", "Units n (%)", "Respondents n (%)",
                            "Representative quotes", "Units", "% of units", "Respondents", "% of respondents"],
                       bold=True))
        for r in domain.rows:
            quotes = "\n\n".join(f"\u201c{q}\u201d" for q in r.quotes)
            ws.append(_row(ws, ["    " * (r.level - 1) + r.name, r.level, r.definition,
                                n_pct(r.n_units, t.n_units), n_pct(r.n_respondents, t.n_respondents)])
                      + [safe_text(ws, quotes, wrap=True), r.n_units, r.pct_units, r.n_respondents,
                         r.pct_respondents])
    _agreement(sheet("Agreement"), data.agreement)
    for coder, matrix in data.coder_matrices.items():
        _matrix(sheet(f"Matrix {coder}"), matrix, f"Codes applied by {coder}")
    _matrix(sheet("Matrix final"), data.final_matrix, "Final codes: consensus, else codes all coders agreed on")
    _cooccurrence(sheet("Co-occurrence"), data.final_matrix)
    _audit(sheet("Audit log"), data.audit)


def _summary(ws: WriteOnlyWorksheet, data: WorkbookData) -> None:
    t = data.tables
    ws.column_dimensions["A"].width = 48
    rows: list[list[Any]] = [
        ["Project", data.project],
        ["Written on", dt.date.today().isoformat()],
        ["Codebook version", data.codebook_version],
        ["Coded units (denominator of % of units)", t.n_units],
        ["Respondents (denominator of % of respondents)", t.n_respondents],
        ["Units whose final codes are a recorded consensus", t.n_consensus],
        ["Units without consensus: final codes = codes all coders agreed on", t.n_fallback],
        ["  of which coders disagreed (disputed codes left out)", t.n_unresolved],
        ["Units not coded yet (left out)", t.n_uncoded],
    ]
    ws.append(_row(ws, ["Theme tables", ""], bold=True))
    for row in rows:
        ws.append(_row(ws, row))
    if data.coder_matrices:
        ws.append([])
        ws.append(_row(ws, ["Coders"], bold=True))
        for coder in data.coder_matrices:
            ws.append(_row(ws, [coder]))


def _agreement(ws: WriteOnlyWorksheet, report: dict[str, Any] | None) -> None:
    ws.column_dimensions["A"].width = 40
    if report is None:
        ws.append(_row(ws, ["No unit has been coded by two or more coders yet."]))
        return
    summary = summarize(report)
    ws.append(_row(ws, ["Agreement between coders", ""], bold=True))
    ws.append(_row(ws, ["Coders", ", ".join(summary.coders)]))
    ws.append(_row(ws, ["Units", summary.units]))
    ws.append(_row(ws, ["Units coded by two or more coders", summary.pairable_units]))
    for figure in summary.figures:
        ws.append(_row(ws, [figure.heading, figure.value]))
        if figure.bootstrapped:
            ci = figure.ci
            ws.append(_row(ws, ["  bootstrap 95% interval", f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "-"]))
    ws.append([])
    ws.append(_row(ws, ["Code (applied or not)", "Units", "Percent agreement", "Krippendorff's alpha",
                        "Fleiss' kappa", *[f"Cohen's kappa {p}" for p in summary.pairs]], bold=True))
    for row in summary.per_code:
        ws.append(_row(ws, [row.code, row.n_units, row.percent_agreement, row.krippendorff_alpha,
                            row.fleiss_kappa, *row.cohen_kappa]))


def _matrix(ws: WriteOnlyWorksheet, matrix: Matrix, title: str) -> None:
    ws.append(_row(ws, [title], bold=True))
    ws.append(_row(ws, ["unit", *matrix.codes], bold=True))
    for label, values in zip(matrix.units, matrix.values.tolist(), strict=True):
        ws.append([safe_text(ws, label), *values])


def _cooccurrence(ws: WriteOnlyWorksheet, matrix: Matrix) -> None:
    ws.append(_row(ws, ["Units whose final codes hold both codes (diagonal: units with the code)"], bold=True))
    ws.append(_row(ws, ["code", *matrix.codes], bold=True))
    counts = cooccurrence(matrix)
    for code, values in zip(matrix.codes, counts.tolist(), strict=True):
        ws.append([safe_text(ws, code), *values])


def _audit(ws: WriteOnlyWorksheet, entries: list[dict[str, Any]]) -> None:
    ws.column_dimensions["E"].width = 60
    ws.column_dimensions["F"].width = 40
    ws.append(_row(ws, ["Version", "When (UTC)", "Who", "Action", "What", "Why"], bold=True))
    for e in entries:
        ws.append(_row(ws, [e["version"], e["at"], e["who"], e["action"], describe(e["action"], e["detail"]),
                            e["why"]]))


def describe(action: str, detail: dict[str, Any]) -> str:
    """Return an audit entry's detail as one readable line."""
    if action in ("rename", "move"):
        return f"{detail['from']} -> {detail['to']}"
    if action == "merge":
        return (f"{detail['from']} merged into {detail['into']}: {detail['moved']} applications moved, "
                f"{detail['collapsed']} collapsed (coder had both), {detail['consensus_moved']} consensus moved")
    if action == "split":
        return (f"{detail['from']} split into {', '.join(detail['targets'])}: {detail['queued']} applications and "
                f"{detail['consensus_queued']} consensus queued for re-review")
    if action in ("add", "retire", "restore", "edit"):
        return detail.get("path", "") + (f" ({', '.join(detail['changed'])})" if "changed" in detail else "")
    return json.dumps(detail, ensure_ascii=False, sort_keys=True)


def gather(session: Session, project: Project, *, quotes: int = 3, respondents: int | None = None,
           bootstrap: int = 1000, seed: int = 0) -> WorkbookData:
    """Collect a project's tables, agreement, matrices and audit log for :func:`write_workbook`."""
    final = final_codes(session, project)
    try:
        agreement = project_agreement(session, project, bootstrap=bootstrap, seed=seed)
    except ProjectError:
        agreement = None
    audit = [{"version": e.version, "at": e.at.isoformat(sep=" "), "who": e.who, "action": e.action,
              "detail": e.detail, "why": e.why} for e in audit_log(session, project)]
    return WorkbookData(project.name, current_version(session, project.id),
                        theme_tables(session, project, quotes=quotes, respondents=respondents, final=final),
                        agreement, coder_matrices(session, project), final_matrix(session, project, final), audit)


def export_project(session: Session, project: Project, path: str | PathLike[str], *, quotes: int = 3,
                   respondents: int | None = None, bootstrap: int = 1000, seed: int = 0,
                   progress: Callable[[str], None] | None = None) -> list[str]:
    """Write a project's workbook to *path*; return the sheet titles."""
    data = gather(session, project, quotes=quotes, respondents=respondents, bootstrap=bootstrap, seed=seed)
    return write_workbook(data, path, progress)
