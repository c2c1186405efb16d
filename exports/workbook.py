"""The Excel workbook of a survey: summary, a table sheet per section, Likert charts, raw data, dictionary.

Written with openpyxl's write-only workbook in one pass over the responses: each raw-data row is written
as soon as it is read (to the sheet's temporary file) while the summaries are counted, and the tables are
written after the stream ends. Memory therefore holds counters and one row, not the responses.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from instrument import Instrument, question_type
from instrument.reportfile import ReportFile

from .charts import CM_PER_BAR, likert_chart
from .columns import Column, export_columns, row_reader
from .joint import joint_hidden
from .likertbars import likert_charts
from .model import Answers, SurveyInfo
from .printing import ROWS_PER_PAGE, page_break_after, print_ready
from .results import ResultsCollector
from .results_sheet import WIDTHS as RESULTS_WIDTHS
from .results_sheet import write_results
from .scores import score_by_group_table, score_table
from .stats import Collector
from .suppress import Suppression, is_mark
from .tables import Table, crosstab_tables, question_tables
from .tabular.cells import sheet_title, styled, xlsx_text
from .tabular.percent import percent
from .tabular.saving import discard, save_atomically

BOLD = Font(bold=True)
ITALIC = Font(italic=True, color="555555")
TITLE = Font(bold=True, size=13)
WRAP = Alignment(wrap_text=True, vertical="top")
SUMMARY_SHEET, LIKERT_SHEET, RAW_SHEET, DICTIONARY_SHEET = "Summary", "Likert", "Raw data", "Data dictionary"
RESULTS_SHEET, SCORES_SHEET = "Results", "Scores"
DEFAULT_RULE = Suppression()
ROW_CM = 0.53  # a default-height row (15 pt), to leave room under a Likert block for its chart


@dataclass
class ExportResult:
    """What was written: how many responses, which sheets."""

    respondents: int
    sheets: list[str] = field(default_factory=list)
    columns: int = 0
    hidden: int = 0  # cells written as '<k' or 'x'


class Sheet:
    """A write-only sheet that knows its current row (charts need cell references) and writes text safely."""

    def __init__(self, wb: Workbook, title: str, widths: Sequence[float] = (), *, title_rows: str | None = "1:1",
                 title_cols: str | None = None) -> None:
        self.ws: WriteOnlyWorksheet = wb.create_sheet(title)
        self.title = title
        self.row = 0
        self.hidden = 0
        for i, width in enumerate(widths):
            self.ws.column_dimensions[_letter(i + 1)].width = width
        print_ready(self.ws, widths, title_rows=title_rows, title_cols=title_cols)

    def styled(self, value: Any, font: Font | None = None, wrap: bool = False) -> Any:
        return styled(self.ws, value, font, WRAP if wrap else None)

    def append(self, values: Sequence[Any], font: Font | None = None, wrap: bool = False) -> int:
        self.ws.append([self.styled(v, font, wrap) for v in values])
        self.row += 1
        self.hidden += sum(1 for v in values if is_mark(v))
        return self.row

    def blank(self, n: int = 1) -> None:
        for _ in range(n):
            self.ws.append([])
            self.row += 1


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def write_table(sheet: Sheet, table: Table) -> None:
    """Append one table: title, note, header, rows, a blank line."""
    sheet.append([table.title], TITLE)
    sheet.append([table.note], ITALIC)
    sheet.append(table.header, BOLD, wrap=True)  # wrapped, so a narrow column still shows its whole header
    for row in table.rows:
        sheet.append(row)
    sheet.blank()


def _summary(sheet: Sheet, instrument: Instrument, info: SurveyInfo, result: ExportResult,
             rule: Suppression, sheets: list[tuple[str, str]]) -> None:
    def when(day: dt.date | None) -> Any:
        return day if day is not None else "not set"

    rate = info.response_rate
    sheet.append([info.title], TITLE)
    rows: list[tuple[str, Any]] = [
        ("Survey id", info.slug),
        ("Instrument", f"{instrument.id}, version {instrument.version}: {instrument.title}"),
        ("Opens", when(info.opens_on)),
        ("Closes", when(info.closes_on)),
        ("Exported on", info.exported_on or dt.date.today()),
        ("Responses", result.respondents),
        ("Invited", info.invited if info.invited is not None else "not known (open survey or no invitations)"),
        ("Response rate", f"{percent(info.answered or 0, info.invited or 0):.1f}%" if rate is not None
         else "not known"),
        ("Small-cell suppression", rule.describe()),
    ]
    if rule.enabled:
        rows.append(("Shared report", f"for readers outside the research team: {result.hidden} counts are hidden "
                     f"('{rule.mark}': below {rule.k}; 'x': hidden so that no sum or difference of the published "
                     "cells gives back a hidden one). "
                     + ("No raw data, no free-text answers." if not result.columns else
                        "It holds the raw data: do not share it as it is.")))
    for key, value in rows:
        sheet.append([sheet.styled(key, BOLD), value])
    if info.departments:
        sheet.blank()
        sheet.append(["Response rate by department", "Invited", "Answered", "Response rate"], BOLD)
        for d in info.departments:
            sheet.append([d.department, d.invited, "—" if d.answered is None else d.answered,
                          "—" if d.rate is None else f"{d.rate:.1f}%"])
    sheet.blank()
    sheet.append(["Sheets"], BOLD)
    for name, what in sheets:
        sheet.append([name, what])
    sheet.blank()
    sheet.append(["How to read the tables"], BOLD)
    for line in (
        "Single-choice questions: n (%) of the respondents who were shown the question; 'No answer' counts "
        "those shown it who left it empty. Respondents not shown a question (skip logic) are not in its base.",
        "Multiple-choice questions: each option as n (%) of the respondents shown the question (several "
        "answers possible, so percentages add up to more than 100).",
        "Likert questions: n (%) per level of those who answered; top two boxes; median level.",
        "Raw data: an empty cell is 'not shown' or 'no answer'; the 'Shown if' column of the data "
        "dictionary tells which.",
    ):
        sheet.append([line])
    if any(question_type(q.type).summary == "ranking" for q in instrument.questions):
        sheet.append(["Ranking questions: per option, n (%) of the respondents who ranked at least one option, "
                      "its mean rank (1 = first) among those who ranked it, and n (%) who ranked it first."])


def _likert_sheet(sheet: Sheet, collector: Collector, rule: Suppression) -> int:
    """Write one block per likert question, its stacked bar chart under it; return the number of charts.

    Counts are hidden exactly where the question's table hides them (``exports.likertbars``, which the
    browser's charts read too), percentages too; the chart plots the percentage cells and a "Hidden" share
    (see exports/charts.py).
    """
    charts_data = likert_charts(collector, rule)
    sheet.append(["Likert questions: n and % of those who answered each statement"], TITLE)
    if not charts_data:
        sheet.append(["This instrument has no Likert questions."])
        return 0
    sheet.blank()
    charts = 0
    page_top = 1
    for data in charts_data:
        labels, bars = data.legend, data.bars
        drawn = any(b.answered for b in bars)
        block_rows = 5 + len(bars) + (math.ceil((4 + CM_PER_BAR * len(bars)) / ROW_CM) + 3 if drawn else 1)
        if sheet.row - page_top + block_rows > ROWS_PER_PAGE and sheet.row > page_top:
            page_break_after(sheet.ws, sheet.row)  # keep the table and its chart on one printed page
            page_top = sheet.row + 1
        sheet.append([data.title], TITLE)
        header_row = sheet.append(["Statement (n answered)", *labels, "n answered",
                                   *[f"% {label}" for label in labels], "% hidden"], BOLD, wrap=True)
        for b in bars:
            sheet.append([b.label, *b.counts, b.answered, *b.pcts, b.hidden_share])
        last_row = sheet.row
        sheet.append([data.note], ITALIC)
        if data.no_chart:
            sheet.append([f"No chart: {data.no_chart}, so a chart could show nothing true."], ITALIC)
            sheet.blank()
            continue
        chart = likert_chart(sheet.ws, data.title, header_row, header_row + 1, last_row, len(labels) + 3,
                             len(labels))
        sheet.ws.add_chart(chart, f"A{sheet.row + 2}")
        charts += 1
        sheet.blank(math.ceil(chart.height / ROW_CM) + 3)
    return charts


def _dictionary(sheet: Sheet, instrument: Instrument, columns: Sequence[Column]) -> None:
    sheet.append(["Column", "Question id", "Section", "Type", "Question", "Values", "Shown if", "Required"], BOLD)
    for col in columns:
        q = col.question
        text = q.text
        if col.kind == "item":
            text += " — " + next((i.text for i in q.items if i.id == col.key), col.key)
        shown_if = q.show_if.describe() if q.show_if is not None else "always"
        kind = "score" if col.kind == "score" else q.type
        sheet.append([col.header, q.id, q.section, kind, text, col.codes(), shown_if, "yes" if q.required else "no"])


def _cell_of(ws: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.is_text:
        return xlsx_text(ws, str(value)) if value != "" else None
    if column.is_date and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return xlsx_text(ws, value)
    if isinstance(value, str):
        return xlsx_text(ws, value)
    return value


def write_workbook(path: str | os.PathLike[str], instrument: Instrument, info: SurveyInfo,
                   responses: Iterable[Answers], rule: Suppression = DEFAULT_RULE, by: Sequence[str] = (),
                   raw: bool = True, report: ReportFile | None = None) -> ExportResult:
    """Write the survey workbook to *path* (atomically: a temporary file renamed at the end).

    With *report* (the instrument's report file), a "Results" sheet after the summary holds its figures in
    named cells, its tables and charts; without, the workbook is as it always was.
    """
    wb = Workbook(write_only=True)
    try:
        result = _SurveyWorkbook(wb, instrument, rule, by, raw, report).fill(info, responses)
    except BaseException:
        discard(wb)
        raise
    save_atomically(wb, path)
    return result


class _SurveyWorkbook:
    """The sheets of one export, created up front in their final order, filled as the data comes."""

    def __init__(self, wb: Workbook, instrument: Instrument, rule: Suppression, by: Sequence[str],
                 raw: bool, report: ReportFile | None = None) -> None:
        self.wb, self.instrument, self.rule, self.by = wb, instrument, rule, by
        self.collector = Collector(instrument, by)
        taken: set[str] = set()
        self.summary = Sheet(wb, sheet_title(SUMMARY_SHEET, taken), (28, 100), title_rows=None)
        self.results = ResultsCollector(report, instrument) if report is not None else None
        self.results_sheet = Sheet(wb, sheet_title(RESULTS_SHEET, taken), RESULTS_WIDTHS, title_rows=None) \
            if report is not None else None
        self.sections = [(Sheet(wb, sheet_title(s.title, taken), (70, 14, 16, 18, 18, 18, 18, 18)), s)
                         for s in instrument.sections]
        self.scores = Sheet(wb, sheet_title(SCORES_SHEET, taken), (60, 14, 10, 18)) if instrument.scores else None
        self.crosses = [Sheet(wb, sheet_title(f"By {qid}", taken), (60, 24, 24, 24, 24, 24, 24, 24)) for qid in by]
        self.likert = Sheet(wb, sheet_title(LIKERT_SHEET, taken), (50, *[13] * 24))
        self.columns = export_columns(instrument)
        self.raw = Sheet(wb, sheet_title(RAW_SHEET, taken), [16] * len(self.columns)) if raw else None
        self.dictionary = Sheet(wb, sheet_title(DICTIONARY_SHEET, taken), (24, 20, 16, 16, 60, 60, 40, 9)) \
            if raw else None

    def _stream(self, responses: Iterable[Answers]) -> None:
        collector = self.collector
        if self.results is not None:
            responses = self._also_results(responses, self.results)
        if self.raw is None:
            for answers in responses:
                collector.add(answers)
            return
        self.raw.ws.freeze_panes = "A2"
        self.raw.append([c.header for c in self.columns], BOLD)
        read = row_reader(self.columns)
        # Only these columns can hold arbitrary text (or dates to convert); the rest go in as they are.
        careful = [(i, c) for i, c in enumerate(self.columns) if c.is_text or c.is_date]
        ws = self.raw.ws
        append = ws.append
        for answers in responses:
            collector.add(answers)
            row = read(answers)
            for i, col in careful:
                if row[i] is not None:
                    row[i] = _cell_of(ws, col, row[i])
            append(row)

    @staticmethod
    def _also_results(responses: Iterable[Answers], results: ResultsCollector) -> Iterable[Answers]:
        for answers in responses:
            results.add(answers)
            yield answers

    def fill(self, info: SurveyInfo, responses: Iterable[Answers]) -> ExportResult:
        """Stream the responses into the raw sheet and the counters, then write every table."""
        self._stream(responses)
        total, rule = self.collector.total, self.rule
        # Suppressed (a shared report): the tables that repeat each other's cells are protected together.
        joint = joint_hidden(self.collector, rule) if rule.enabled else None
        for sheet, section in self.sections:
            sheet.append([section.title], TITLE)
            sheet.blank()
            for q in section.questions:
                for table in question_tables(total[q.id], total.respondents, rule, joint):
                    write_table(sheet, table)
        if self.scores is not None:
            self.scores.append(["Scored scales"], TITLE)
            self.scores.blank()
            for score in total.scores:
                write_table(self.scores, score_table(score, rule))
        for sheet, crosstab in zip(self.crosses, self.collector.crosstabs, strict=True):
            sheet.append([f"Answers by {crosstab.by.id}: {crosstab.by.text}"], TITLE)
            sheet.blank()
            for table in crosstab_tables(crosstab, total, rule, joint):
                write_table(sheet, table)
            for index in range(len(total.scores)):
                write_table(sheet, score_by_group_table(index, crosstab, total, rule))
        _likert_sheet(self.likert, self.collector, rule)
        described = [(self.summary.title, "this page")]
        if self.results is not None and self.results_sheet is not None:
            computed = self.results.results(info.invited, rule)
            write_results(self.wb, self.results_sheet, computed, rule)
            described.append((self.results_sheet.title, f"the figures, tables and charts of "
                              f"{computed.report.source.rsplit('/', 1)[-1]}: sentences ready to paste, "
                              "each figure in named cells"))
        described += [(sheet.title, f"tables of section '{section.id}'") for sheet, section in self.sections]
        if self.scores is not None:
            described.append((self.scores.title, "scored scales: n scored / missing, mean (SD), median, cut-offs"))
        described += [(sheet.title, f"every question by {qid}") for sheet, qid in zip(self.crosses, self.by,
                                                                                      strict=True)]
        described.append((self.likert.title, "Likert distributions with stacked bar charts of % of those who "
                          "answered (hidden counts: one hatched 'Hidden' segment)"))
        if self.raw is not None and self.dictionary is not None:
            _dictionary(self.dictionary, self.instrument, self.columns)
            described.append((self.raw.title, "one row per response, one column per question (anonymous)"))
            described.append((self.dictionary.title, "what each raw-data column holds"))
        sheets = [self.results_sheet, *(sheet for sheet, _ in self.sections), self.scores, *self.crosses, self.likert]
        result = ExportResult(total.respondents, [name for name, _ in described],
                              len(self.columns) if self.raw is not None else 0,
                              sum(sheet.hidden for sheet in sheets if sheet is not None))
        _summary(self.summary, self.instrument, info, result, rule, described)
        return result

