"""Every chart in every workbook we write plots what the tables say: follow each series to its cells and check.

A scatter chart (the trial's forest plot) reads numbers only: its x, y and custom error bar cells.

For each chart series: no value cell holds text (Excel plots "<5" as nothing, and a 100%-stacked bar would
then rescale what is left); no chart is percent-stacked; each Likert bar's segments add up to 100% of its n
(within rounding), each shown segment is its count's percentage of all who answered, and a hidden count
has no percentage. Checked on the paper's workbook with suppression on and off, on a 5-answer pilot, and on
the reach workbook (a hidden month is a labelled gap, never a zero bar).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.utils.cell import range_to_tuple
from paper_data import paper_forms, submit, table
from test_reach import INSTRUMENT as REACH_INSTRUMENT
from test_reach import forms as reach_forms

from exports.model import SurveyInfo
from exports.reach import reach_report, write_reach_workbook
from exports.suppress import OFF, Suppression
from exports.tabular.percent import percent
from exports.workbook import write_workbook
from instrument import load_instrument

DEPARTMENT_SURVEY = Path(__file__).resolve().parent.parent / "instruments" / "department-survey.yaml"
INST = load_instrument(DEPARTMENT_SURVEY)
LIKERT_QUESTIONS = [q for q in INST.questions if q.type == "likert"]


def _cells(wb: Any, ref: str) -> list[tuple[Any, int, int]]:
    """Return (worksheet, row, column) of every cell of a chart reference such as 'Likert'!$H$5:$M$5."""
    sheet, (min_col, min_row, max_col, max_row) = range_to_tuple(ref)
    ws = wb[sheet]
    return [(ws, r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def _value(cell: tuple[Any, int, int]) -> Any:
    ws, r, c = cell
    return ws.cell(row=r, column=c).value


def check_charts(path: Path) -> dict[str, int]:
    """Assert the invariants on every chart of the workbook at *path*; return what was checked."""
    wb = load_workbook(path)
    figures = {"charts": 0, "series": 0, "bars": 0, "hidden segments": 0, "gaps": 0, "points": 0}
    for ws in wb.worksheets:
        for chart in ws._charts:
            figures["charts"] += 1
            if chart.tagname == "scatterChart":
                figures["points"] += _check_scatter(wb, chart)
                continue
            assert chart.grouping != "percentStacked", f"{ws.title}: a percent-stacked chart rescales gaps away"
            columns: list[list[tuple[Any, int, int]]] = []
            for series in chart.series:
                figures["series"] += 1
                ref = series.val.numRef.f
                cells = _cells(wb, ref)
                for cell in cells:
                    value = _value(cell)
                    assert not isinstance(value, str), f"{ref} points at text {value!r}"
                columns.append(cells)
            if chart.grouping == "stacked":
                figures["bars"] += len(columns[0])
                figures["hidden segments"] += _check_likert_bars(columns)
            else:
                figures["gaps"] += _check_month_bars(wb, chart, columns[0])
    return figures


def _check_scatter(wb: Any, chart: Any) -> int:
    """Check a scatter chart (the forest plot): x, y and custom error bars all read number cells."""
    points = 0
    for series in chart.series:
        refs = [series.xVal.numRef.f, series.yVal.numRef.f]
        if series.errBars is not None:
            assert series.errBars.errValType == "cust"
            refs += [series.errBars.plus.numRef.f, series.errBars.minus.numRef.f]
        for ref in refs:
            for cell in _cells(wb, ref):
                value = _value(cell)
                assert isinstance(value, int | float) and not isinstance(value, bool), f"{ref} holds {value!r}"
        points += len(_cells(wb, refs[0]))
    return points


def _header_row(ws: Any, row: int) -> int:
    """Return the header row above the bars starting at *row*."""
    for r in range(row - 1, 0, -1):
        if ws.cell(row=r, column=1).value == "Statement (n answered)":
            return r
    raise AssertionError(f"{ws.title}: no header above row {row}")


def _check_likert_bars(columns: list[list[tuple[Any, int, int]]]) -> int:
    hidden_segments = 0
    ws, first_row, _ = columns[0][0]
    header_row = _header_row(ws, first_row)
    header = {ws.cell(row=header_row, column=c).value: c for c in range(1, ws.max_column + 1)}
    for i in range(len(columns[0])):
        row = columns[0][i][1]
        n = ws.cell(row=row, column=header["n answered"]).value
        values = [_value(column[i]) for column in columns]
        assert all(isinstance(v, int | float) for v in values if v is not None)
        if n == 0:  # a statement nobody answered: an empty bar labelled n = 0, nothing drawn
            assert all(not v for v in values) and "(n = 0)" in ws.cell(row=row, column=1).value
            continue
        assert abs(sum(v or 0 for v in values) - 100) <= 0.3, f"bar of row {row} spans {sum(v or 0 for v in values)}%"
        for column in columns[:-1]:  # the last series is the hidden share
            title = ws.cell(row=header_row, column=column[i][2]).value
            count = ws.cell(row=row, column=header[title.removeprefix("% ")]).value
            pct = _value(column[i])
            if isinstance(count, str):
                assert pct is None, f"row {row}: {title} is hidden ({count}) in the table but drawn at {pct}%"
                hidden_segments += 1
            else:
                assert pct == percent(count, n), f"row {row}: {title} drawn at {pct}%, table says {count} of {n}"
    return hidden_segments


def _check_month_bars(wb: Any, chart: Any, cells: list[tuple[Any, int, int]]) -> int:
    cat = chart.series[0].cat
    labels = [_value(c) for c in _cells(wb, (cat.strRef or cat.numRef).f)]
    gaps = 0
    for cell, label in zip(cells, labels, strict=True):
        ws, row, _ = cell
        shown = ws.cell(row=row, column=2).value  # the table's count
        if _value(cell) is None:
            assert isinstance(shown, str) and "hidden" in label, f"{label}: a gap that does not say why"
            gaps += 1
        else:
            assert _value(cell) == shown and "hidden" not in label
    return gaps


def _survey_workbook(path: Path, forms: list[dict[str, Any]], rule: Suppression) -> Path:
    info = SurveyInfo("post-dept", "POST survey", INST.id, INST.version, opens_on=dt.date(2022, 3, 1))
    write_workbook(path, INST, info, [submit(INST, f) for f in forms], rule=rule, by=["interaction"])
    return path


@pytest.mark.parametrize("rule", [Suppression(), OFF], ids=["suppressed", "no-suppression"])
def test_paper_workbook_charts_plot_the_tables(tmp_path: Path, rule: Suppression) -> None:
    path = _survey_workbook(tmp_path / "post.xlsx", paper_forms(), rule)
    figures = check_charts(path)
    print(rule.describe()[:30], figures)
    wb = load_workbook(path)
    likert = wb["Likert"]
    notes = [r[0] for r in likert.iter_rows(values_only=True) if isinstance(r[0], str) and r[0].startswith("No chart")]
    assert figures["charts"] + len(notes) == len(LIKERT_QUESTIONS)
    titles = [c.title.tx.rich.p[0].r[0].t for c in likert._charts]
    assert set(titles) <= {q.text for q in LIKERT_QUESTIONS}  # titles are the question text
    if rule.enabled:
        # Satisfaction: 2 dissatisfied (<5) and its complement (x) are a hatched 'Hidden' 31.3%, not spread.
        assert figures["hidden segments"] >= 2 and notes  # helpfulness: every count hidden, a note instead
    else:
        assert figures["charts"] == len(LIKERT_QUESTIONS) and figures["hidden segments"] == 0


def test_likert_sheet_hides_what_the_tables_hide(tmp_path: Path) -> None:
    wb = load_workbook(_survey_workbook(tmp_path / "post.xlsx", paper_forms(), Suppression()))
    rows = list(wb["Likert"].iter_rows(values_only=True))
    for q in LIKERT_QUESTIONS:
        found = next(ws for ws in wb.worksheets if any(isinstance(r[0], str) and r[0].startswith(f"{q.id}: ")
                                                       for r in ws.iter_rows(max_col=1, values_only=True)))
        table_counts = [cells[0] for label, cells in table(found, q.id)["rows"].items() if label[:1].isdigit()]
        i = next(i for i, r in enumerate(rows) if r[0] == q.text)
        sheet_counts = list(rows[i + 2][1:1 + len(table_counts)])
        assert sheet_counts == table_counts, q.id


@pytest.mark.parametrize("rule", [Suppression(), OFF], ids=["suppressed", "no-suppression"])
def test_five_answer_pilot_draws_no_misleading_chart(tmp_path: Path, rule: Suppression) -> None:
    pilot = paper_forms()[:5]
    for i, form in enumerate(pilot):  # answers spread over the levels: every count is 1 (or 0)
        for q in LIKERT_QUESTIONS:
            if q.id in form:
                form[q.id] = str(i % 5 + 1)
    path = _survey_workbook(tmp_path / "pilot.xlsx", pilot, rule)
    figures = check_charts(path)
    print("pilot", rule.describe()[:30], figures)
    likert = load_workbook(path)["Likert"]
    notes = [r[0] for r in likert.iter_rows(values_only=True) if isinstance(r[0], str) and r[0].startswith("No chart")]
    assert figures["charts"] + len(notes) == len(LIKERT_QUESTIONS)
    if rule.enabled:
        assert figures["charts"] == 0  # every Likert count of 5 answers is hidden: notes, not blank charts


MATRIX = """
id: matrix
version: 1
title: Matrix
sections:
  - id: s
    title: S
    questions:
      - id: grid
        type: likert
        text: How much do you agree?
        scale: agreement
        items: [{id: a, text: Spread answers}, {id: b, text: Nobody answered}, {id: c, text: All agree}]
"""


def test_matrix_likert_one_bar_per_statement(tmp_path: Path) -> None:
    from instrument import parse_instrument

    inst = parse_instrument(MATRIX, "matrix.yaml")
    levels = [1] * 3 + [2] * 9 + [3] * 2 + [4] * 12 + [5] * 14  # 40 answers: two small cells
    forms = [{"grid__a": str(level), "grid__c": "4"} for level in levels]
    info = SurveyInfo("m", "Matrix", inst.id, inst.version)
    for rule in (Suppression(), OFF):
        path = tmp_path / f"matrix-{rule.enabled}.xlsx"
        write_workbook(path, inst, info, [submit(inst, f) for f in forms], rule=rule)
        figures = check_charts(path)
        print("matrix", rule.describe()[:30], figures)
        assert (figures["charts"], figures["bars"]) == (1, 3)
        assert (figures["hidden segments"] > 0) == rule.enabled


def test_reach_chart_shows_hidden_months_as_labelled_gaps(tmp_path: Path) -> None:
    records = [submit(REACH_INSTRUMENT, f) for f in reach_forms()]
    report = reach_report(records, REACH_INSTRUMENT.question("department").choices, start=dt.date(2019, 6, 1),
                          end=dt.date(2019, 11, 30))
    info = SurveyInfo("post-reach", "Reach", REACH_INSTRUMENT.id, REACH_INSTRUMENT.version)
    for rule, gaps in ((Suppression(), True), (OFF, False)):
        path = tmp_path / f"reach-{rule.enabled}.xlsx"
        write_reach_workbook(path, report, info, rule)
        figures = check_charts(path)
        print("reach", rule.describe()[:30], figures)
        assert figures["charts"] == 1 and (figures["gaps"] > 0) == gaps
