"""LibreOffice Calc (headless) opens our workbooks, sees every sheet, and runs none of the answers as formulas."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from paper_data import paper_forms, submit
from test_reach import INSTRUMENT as INTERACTION_RECORD
from test_reach import forms as interaction_forms

from exports.model import SurveyInfo
from exports.reach import reach_report, write_reach_workbook
from exports.workbook import write_workbook
from instrument import load_instrument

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (Debian: apt-get install "
                                "libreoffice-calc; CI installs it)")
# Comma, double quote, UTF-8, from line 1, ..., and the final -1: one CSV file per sheet (LibreOffice >= 7.2).
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
DEPARTMENT_SURVEY = load_instrument(Path(__file__).resolve().parent.parent / "instruments" / "department-survey.yaml")


def convert(path: Path, tmp_path: Path) -> dict[str, list[list[str]]]:
    """Have LibreOffice open *path* and write each sheet as CSV; return {sheet: rows}."""
    out = tmp_path / "converted"
    out.mkdir()
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
         "--convert-to", ALL_SHEETS_CSV, "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stdout + done.stderr, done.stdout + done.stderr
    sheets = {}
    for file in sorted(out.glob(f"{path.stem}-*.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            sheets[file.stem[len(path.stem) + 1:]] = list(csv.reader(handle))
    return sheets


def test_libreoffice_opens_the_survey_workbook(tmp_path):
    answers = [submit(DEPARTMENT_SURVEY, form) for form in paper_forms()]
    answers[0]["suggestions_text"] = "=1+1"
    answers[1]["suggestions_text"] = "@SUM(1,2)"
    answers[2]["suggestions_text"] = "Zeile 1\nZeile 2 — ✓"
    info = SurveyInfo("post-dept", "POST department survey", DEPARTMENT_SURVEY.id, 1, dt.date(2022, 3, 1),
                      dt.date(2022, 3, 31), invited=255, answered=75)
    path = tmp_path / "survey.xlsx"
    result = write_workbook(path, DEPARTMENT_SURVEY, info, answers, by=["interaction"])
    sheets = convert(path, tmp_path)
    assert set(sheets) == set(result.sheets)
    program = sheets["The POST program"]
    assert ["Yes", "66", "88", "66 (88.0%)"] in program
    summary = {row[0]: row[1] for row in sheets["Summary"] if row}
    assert summary["Response rate"] == "29.4%" and summary["Responses"] == "75"
    raw = sheets["Raw data"]
    col = raw[0].index("suggestions_text")
    texts = [row[col] for row in raw[1:]]
    # Evaluated, these would read 2 and 3: LibreOffice shows them as the text they are.
    assert texts[:3] == ["=1+1", "@SUM(1,2)", "Zeile 1\nZeile 2 — ✓"]
    assert len(raw) == 76


def test_libreoffice_opens_the_reach_workbook(tmp_path):
    records = [submit(INTERACTION_RECORD, form) for form in interaction_forms()]
    report = reach_report(records, INTERACTION_RECORD.question("department").choices,
                          start=dt.date(2019, 6, 1), end=dt.date(2019, 11, 30))
    path = tmp_path / "reach.xlsx"
    write_reach_workbook(path, report, SurveyInfo("post-reach", "POST interactions", INTERACTION_RECORD.id, 1))
    sheets = convert(path, tmp_path)
    assert set(sheets) == {"Summary", "Reach", "Months"}
    assert ["Emergency Medicine", "6", "54.5", "6 (54.5%)", "", ""] in sheets["Reach"]
    assert ["Anesthesia", "<5", "", "<5", "", ""] in sheets["Reach"]
