"""The project workbook (.xlsx): theme tables per domain, agreement, unit x code matrices, co-occurrence, audit log.

Sheets, in order: ``Summary``; one sheet per domain (theme, level, definition, n (%) of units and of
respondents, units awaiting consensus or re-review, per question when there are several, representative
quotes); ``Agreement`` (coefficients to 3 decimals); ``Matrix <coder>`` per coder and ``Matrix final`` (0/1,
one row per unit); ``Co-occurrence``; ``Audit log``. Coders appear by display name (the account's name, else
the part of the address before "@"), never by e-mail address; every sheet prints one page wide. Answer text is
respondents' own words, so any text a spreadsheet could run as a formula (starting with = + - @, a tab or a
carriage return) is stored as a text cell with Excel's quote-prefix style: shown as typed, never evaluated,
unchanged when read back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.orm import Session

from coding.agreement_report import summarize
from coding.blindness import revealed_unit_ids
from coding.codebook.stored import audit_log, current_version, describe
from coding.coders import display_names
from coding.codings import project_agreement
from coding.reconcile import CONSENSUS_RULES, DEFAULT_RULE, final_codes
from coding.store import Project, ProjectError
from coding.tables import Matrix, ThemeTables, coder_matrices, cooccurrence, final_matrix, theme_tables
from exports.printing import print_ready
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
    names: dict[str, str] = field(default_factory=dict)  # coder (e-mail address) -> display name
    question_texts: dict[str, str] = field(default_factory=dict)  # 'survey:question' -> its text

    def name(self, coder: str | None) -> str:
        """Return a coder's display name (the part before '@' when none is known)."""
        if not coder:
            return ""
        return self.names.get(coder) or coder.partition("@")[0]


def _coefficient(ws: WriteOnlyWorksheet, value: float | None) -> Any:
    """Return an agreement coefficient rounded to, and shown with, 3 decimals ('-' where undefined)."""
    if value is None:
        return "-"
    cell = WriteOnlyCell(ws, value=round(value, 3))
    cell.number_format = "0.000"
    return cell


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
        _domain(sheet(domain.name), data, domain)
    _agreement(sheet("Agreement"), data)
    for coder, matrix in data.coder_matrices.items():
        _matrix(sheet(f"Matrix {data.name(coder)}"), matrix, f"Codes applied by {data.name(coder)}")
    _matrix(sheet("Matrix final"), data.final_matrix,
            f"Final codes: consensus, else {CONSENSUS_RULES[t.rule]} (rule '{t.rule}')")
    _cooccurrence(sheet("Co-occurrence"), data.final_matrix)
    _audit(sheet("Audit log"), data.audit, data.name)


def _of(n: int, total: int) -> str:
    """Return "42 (63.6%) of 66", as the paper writes a count of respondents."""
    return f"{n_pct(n, total)} of {total}"


def _domain(ws: WriteOnlyWorksheet, data: WorkbookData, domain: Any) -> None:
    t = data.tables
    questions = list(t.questions)
    header = ["Theme", "Level", "Definition", "Units n (%) of coded units", "Respondents n (%) of respondents",
              "Units awaiting consensus", "Units awaiting re-review"]
    for q in questions:
        label = data.question_texts.get(q) or q
        header += [f"{label}: units n (%)", f"{label}: respondents n (%)"]
    header += ["Representative quotes", "Units", "% of units", "Respondents", "% of respondents"]
    widths = [32, 7, 40, 18, 20, 13, 13, *[20] * (2 * len(questions)), 70, 9, 9, 12, 12]
    for i, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    header_row = 4 + bool(domain.definition)  # repeated on every printed page
    print_ready(ws, widths, title_rows=f"{header_row}:{header_row}")
    ws.append(_row(ws, [domain.name], bold=True))
    if domain.definition:
        ws.append(_row(ws, [domain.definition]))
    ws.append(_row(ws, [f"Units with a theme of this domain: {_of(domain.n_units, t.n_units)} coded units"]))
    ws.append(_row(ws, [_rule_line(t)]))
    ws.append(_row(ws, header, bold=True, wrap=True))
    for r in domain.rows:
        quotes = "\n\n".join(f"\u201c{q}\u201d" for q in r.quotes)
        cells: list[Any] = ["    " * (r.level - 1) + r.name, r.level, r.definition, _of(r.n_units, t.n_units),
                            _of(r.n_respondents, t.n_respondents), r.awaiting_consensus, r.awaiting_rereview]
        for q in questions:
            units, respondents = t.questions[q]
            n_units, n_resp = r.by_question.get(q, (0, 0))
            cells += [_of(n_units, units), _of(n_resp, respondents)]
        ws.append(_row(ws, cells) + [safe_text(ws, quotes, wrap=True), r.n_units, r.pct_units, r.n_respondents,
                                     r.pct_respondents])


def _rule_line(t: ThemeTables) -> str:
    return (f"Units without a recorded consensus ({t.n_fallback}) count {CONSENSUS_RULES[t.rule]} (rule "
            f"'{t.rule}'); {t.n_unresolved} of them still await a consensus, {t.n_awaiting_rereview} units await "
            "re-review after a split: see the two 'awaiting' columns.")


def _summary(ws: WriteOnlyWorksheet, data: WorkbookData) -> None:
    t = data.tables
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 60
    print_ready(ws, (48, 60))
    rows: list[list[Any]] = [
        ["Project", data.project],
        ["Written on", dt.date.today().isoformat()],
        ["Codebook version", data.codebook_version],
        ["Coded units (denominator of % of units)", t.n_units],
        ["Respondents (denominator of % of respondents)", t.n_respondents],
        ["Units whose final codes are a recorded consensus", t.n_consensus],
        ["Rule for units without consensus", f"'{t.rule}': {CONSENSUS_RULES[t.rule]}"],
        ["Units without consensus, counted by that rule", t.n_fallback],
        ["  of which coders disagreed (awaiting consensus)", t.n_unresolved],
        ["Units awaiting re-review after a split", t.n_awaiting_rereview],
        ["Units not coded yet (left out)", t.n_uncoded],
    ]
    for q, (units, respondents) in t.questions.items():
        rows.append([f"Question {data.question_texts.get(q) or q}", f"{units} coded units of {respondents} "
                     "respondents (denominators of its columns)"])
    ws.append(_row(ws, ["Theme tables", ""], bold=True))
    for row in rows:
        ws.append(_row(ws, row))
    if data.coder_matrices:
        ws.append([])
        ws.append(_row(ws, ["Coders"], bold=True))
        for coder in data.coder_matrices:
            ws.append(_row(ws, [data.name(coder)]))


def _agreement(ws: WriteOnlyWorksheet, data: WorkbookData) -> None:
    report = data.agreement
    ws.column_dimensions["A"].width = 40
    if report is None:
        print_ready(ws, (40,))
        ws.append(_row(ws, ["No unit has been coded by two or more coders yet."]))
        return
    summary = summarize(report, data.names)
    pairs = summary.pairs
    widths = [40, 9, 13, 13, 13, *[16] * len(pairs)]
    for i, width in enumerate(widths[1:], start=2):
        ws.column_dimensions[get_column_letter(i)].width = width
    print_ready(ws, widths)
    ws.append(_row(ws, ["Agreement between coders", ""], bold=True))
    ws.append(_row(ws, ["Coders", ", ".join(summary.coders)]))
    ws.append(_row(ws, ["Units", summary.units]))
    ws.append(_row(ws, ["Units coded by two or more coders", summary.pairable_units]))
    for figure in summary.figures:
        ws.append([safe_text(ws, figure.heading), _coefficient(ws, figure.value)])
        if figure.bootstrapped:
            ci = figure.ci
            ws.append(_row(ws, ["  bootstrap 95% interval", f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "-"]))
    ws.append([])
    ws.append(_row(ws, ["Code (applied or not)", "Units", "Percent agreement", "Krippendorff's alpha",
                        "Fleiss' kappa", *[f"Cohen's kappa {p}" for p in pairs]], bold=True, wrap=True))
    for row in summary.per_code:
        ws.append([safe_text(ws, row.code), row.n_units,
                   *[_coefficient(ws, v) for v in (row.percent_agreement, row.krippendorff_alpha, row.fleiss_kappa,
                                                   *row.cohen_kappa)]])


def _matrix(ws: WriteOnlyWorksheet, matrix: Matrix, title: str) -> None:
    print_ready(ws, [16, *[6] * len(matrix.codes)], title_rows="2:2", title_cols="A:A")
    ws.append(_row(ws, [title], bold=True))
    ws.append(_row(ws, ["unit", *matrix.codes], bold=True))
    for label, values in zip(matrix.units, matrix.values.tolist(), strict=True):
        ws.append([safe_text(ws, label), *values])


def _cooccurrence(ws: WriteOnlyWorksheet, matrix: Matrix) -> None:
    print_ready(ws, [24, *[6] * len(matrix.codes)], title_rows="2:2", title_cols="A:A")
    ws.append(_row(ws, ["Units whose final codes hold both codes (diagonal: units with the code)"], bold=True))
    ws.append(_row(ws, ["code", *matrix.codes], bold=True))
    counts = cooccurrence(matrix)
    for code, values in zip(matrix.codes, counts.tolist(), strict=True):
        ws.append([safe_text(ws, code), *values])


def _audit(ws: WriteOnlyWorksheet, entries: list[dict[str, Any]], name: Callable[[str], str]) -> None:
    widths = (9, 20, 20, 10, 60, 40)
    for i, width in enumerate(widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    print_ready(ws, widths, title_rows="1:1")
    ws.append(_row(ws, ["Version", "When (UTC)", "Who", "Action", "What", "Why"], bold=True))
    for e in entries:
        ws.append(_row(ws, [e["version"], e["at"], name(e["who"]), e["action"], describe(e["action"], e["detail"]),
                            e["why"]]))


def gather(session: Session, project: Project, *, quotes: int = 3, respondents: int | None = None,
           bootstrap: int = 1000, seed: int = 0, rule: str = DEFAULT_RULE, names: Mapping[str, str] | None = None,
           question_texts: Mapping[str, str] | None = None, viewer: str | None = None) -> WorkbookData:
    """Collect a project's tables, agreement, matrices and audit log for :func:`write_workbook`.

    Units without consensus count by *rule* (coding.reconcile.CONSENSUS_RULES); *names* maps coders'
    addresses to display names; *question_texts* labels the per-question columns ('survey:question' -> text).
    With a *viewer* (a coder's address), the workbook holds only what coding.blindness lets them see, as the
    results and agreement pages do: theme tables, final matrix, co-occurrence and agreement over the units
    revealed to them; the other coders' matrices over those units; their own codes whole. Without one, all.
    """
    final = final_codes(session, project, rule)
    revealed: list[int] | None = None
    if viewer is not None:
        revealed = revealed_unit_ids(session, project, viewer)
        final = final.only(revealed)
    try:
        agreement = project_agreement(session, project, unit_ids=revealed, bootstrap=bootstrap, seed=seed) \
            if revealed is None or revealed else None
    except ProjectError:
        agreement = None
    audit = [{"version": e.version, "at": e.at.isoformat(sep=" "), "who": e.who, "action": e.action,
              "detail": e.detail, "why": e.why} for e in audit_log(session, project)]
    matrices = coder_matrices(session, project, viewer, revealed or ())
    coders = [*matrices, *(e["who"] for e in audit), *((agreement or {}).get("coders") or [])]
    return WorkbookData(project.name, current_version(session, project.id),
                        theme_tables(session, project, quotes=quotes, respondents=respondents, final=final),
                        agreement, matrices, final_matrix(session, project, final), audit,
                        display_names(coders, names), dict(question_texts or {}))


def export_project(session: Session, project: Project, path: str | PathLike[str], *, quotes: int = 3,
                   respondents: int | None = None, bootstrap: int = 1000, seed: int = 0,
                   progress: Callable[[str], None] | None = None, rule: str = DEFAULT_RULE,
                   names: Mapping[str, str] | None = None) -> list[str]:
    """Write a project's workbook to *path*; return the sheet titles."""
    data = gather(session, project, quotes=quotes, respondents=respondents, bootstrap=bootstrap, seed=seed,
                  rule=rule, names=names)
    return write_workbook(data, path, progress)
