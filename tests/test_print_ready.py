"""Workbooks print: one page wide, landscape where wide, header rows repeated, charts never cut by a page break."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from paper_data import paper_forms, submit

from exports.charts import CM_PER_BAR
from exports.model import SurveyInfo
from exports.printing import ROWS_PER_PAGE
from exports.workbook import ROW_CM, write_workbook
from instrument import load_instrument
from surveyapp import db

DEPARTMENT_SURVEY = load_instrument(Path(__file__).resolve().parent.parent / "instruments" / "department-survey.yaml")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def paper_path(tmp_path_factory) -> Path:
    info = SurveyInfo("post-dept", "POST survey", DEPARTMENT_SURVEY.id, DEPARTMENT_SURVEY.version,
                      opens_on=dt.date(2022, 3, 1))
    path = tmp_path_factory.mktemp("print") / "post.xlsx"
    write_workbook(path, DEPARTMENT_SURVEY, info, [submit(DEPARTMENT_SURVEY, f) for f in paper_forms()],
                   by=["interaction"])
    return path


def _fits_width(ws) -> None:
    assert ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), ws.title


def test_survey_workbook_page_setup(paper_path: Path) -> None:
    wb = load_workbook(paper_path)
    for ws in wb.worksheets:
        _fits_width(ws)
    for title in ("The POST program", "By interaction", "Likert", "Raw data"):
        assert wb[title].page_setup.orientation == "landscape", title
    assert wb["Raw data"].print_title_rows == "$1:$1"  # the column headers on every page
    assert wb["Data dictionary"].print_title_rows == "$1:$1"


def test_likert_charts_are_not_split_by_a_page_break(paper_path: Path) -> None:
    ws = load_workbook(paper_path)["Likert"]
    breaks = [b.id for b in ws.row_breaks.brk]
    page_tops = [1, *(b + 1 for b in breaks)]
    for chart in ws._charts:
        first = chart.anchor._from.row + 1  # 1-based row the chart starts on
        height_cm = chart.anchor.ext.height / 360000  # EMU per cm; openpyxl reads charts back at a default size
        last = first + math.ceil(height_cm / ROW_CM)
        assert not any(first <= b < last for b in breaks), f"a page break cuts the chart at row {first}"
        top = max(t for t in page_tops if t <= first)
        assert last - top <= ROWS_PER_PAGE + 2 * math.ceil(CM_PER_BAR / ROW_CM), "chart runs past its page"
    print(f"Likert sheet: {len(ws._charts)} charts, page breaks after rows {breaks}")


def test_coding_workbook_page_setup(tmp_path: Path, app) -> None:
    from coding import projects as P
    from coding.importing import import_sheet
    from coding.workbook import export_project

    rows = ["unit,text,coder,codes"]
    rows += [f"u{i},answer {i},{coder},Barriers/{'Time' if (i + k) % 3 else 'Cost'}"
             for i in range(12) for k, coder in enumerate(("ana@example.org", "ben@example.org"))]
    sheet = tmp_path / "coded.csv"
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with app.app_context(), db.new_session() as session:
        project = P.create_project(session, "print", "lead@example.org")
        import_sheet(session, project, sheet, "lead@example.org")
        export_project(session, project, tmp_path / "themes.xlsx", bootstrap=0)
    wb = load_workbook(tmp_path / "themes.xlsx")
    for ws in wb.worksheets:
        _fits_width(ws)
    barriers = wb["Barriers"]
    header = next(r[0].row for r in barriers.iter_rows() if r[0].value == "Theme")
    assert barriers.print_title_rows == f"${header}:${header}"
    assert barriers.page_setup.orientation == "landscape"
    assert wb["Matrix final"].print_title_cols == "$A:$A"


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_libreoffice_prints_the_survey_workbook_in_few_pages(paper_path: Path, tmp_path: Path) -> None:
    done = subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                           "--norestore", "--convert-to", "pdf", "--outdir", str(tmp_path), str(paper_path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    pages = len(re.findall(rb"/Type\s*/Page[^s]", (tmp_path / "post.pdf").read_bytes()))
    sheets = len(load_workbook(paper_path).sheetnames)
    print(f"paper workbook as PDF: {pages} pages for {sheets} sheets (58 before the print setup)")
    # One page wide: each sheet's rows are never split from their numbers; 75 responses fit in a few pages.
    assert sheets <= pages <= 3 * sheets
