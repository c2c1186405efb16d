"""The survey workbook through `surveykit export`: the suppression setting, formula-safe text, the response rate."""

from __future__ import annotations

import csv
import zipfile

import pytest
from openpyxl import load_workbook
from paper_data import paper_forms, table
from survey_setup import export, open_survey, store


def test_cli_export_holds_the_paper_counts(app, runner, tmp_path):
    open_survey(runner, "department-survey", "post-dept", "--opens", "2022-03-01", "--closes", "2022-03-31")
    store(app, "post-dept", paper_forms())
    wb = load_workbook(export(runner, "post-dept", tmp_path / "post.xlsx", "--by", "interaction"))
    assert table(wb["The POST program"], "aware")["rows"]["Yes"] == [66, 88.0, "66 (88.0%)"]
    assert "By interaction" in wb.sheetnames


@pytest.mark.parametrize("extra", [(), ("--no-suppression",)], ids=["default", "old-flag"])
def test_the_teams_export_is_exact_and_says_so(app, runner, tmp_path, extra):
    open_survey(runner, "department-survey", "post-dept")
    store(app, "post-dept", paper_forms())
    wb = load_workbook(export(runner, "post-dept", tmp_path / "open.xlsx", *extra))
    view = wb["Your view of the program"]
    assert table(view, "barriers")["rows"]["Medical-legal concerns"] == [2, 3.0, "2 (3.0%)"]
    satisfaction = table(view, "satisfaction")["rows"]
    assert satisfaction["3 Neither satisfied nor dissatisfied"][2] == "18 (28.1%)"
    assert satisfaction["2 Dissatisfied"][2] == "2 (3.1%)"
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Small-cell suppression"].startswith("off: exact counts, for the research team")


def test_shared_export_hides_small_counts_and_refuses_raw_formats(app, runner, tmp_path):
    open_survey(runner, "department-survey", "post-dept")
    store(app, "post-dept", paper_forms())
    result = runner.invoke(args=["export", "post-dept", "--out", str(tmp_path / "shared.xlsx"), "--shared"])
    assert result.exit_code == 0 and "shared report:" in result.output, result.output
    wb = load_workbook(tmp_path / "shared.xlsx")
    assert table(wb["Your view of the program"], "barriers")["rows"]["Medical-legal concerns"][0] == "<5"
    assert "Raw data" not in wb.sheetnames and "Results" not in wb.sheetnames
    for suffix in ("csv", "sav", "dta"):
        refused = runner.invoke(args=["export", "post-dept", "--out", str(tmp_path / f"x.{suffix}"), "--shared"])
        assert refused.exit_code == 1 and "a shared report holds no raw data" in refused.output
        assert not (tmp_path / f"x.{suffix}").exists()
    both = runner.invoke(args=["export", "post-dept", "--out", str(tmp_path / "y.xlsx"), "--shared",
                               "--no-suppression"])
    assert both.exit_code == 2 and "choose one" in both.output


def test_suppression_threshold_comes_from_the_setting(database_url, tmp_path):
    from conftest import make_test_app

    app = make_test_app(database_url, tmp_path, SURVEYKIT_MIN_CELL=20)
    try:
        runner = app.test_cli_runner()
        open_survey(runner, "department-survey", "post-dept")
        store(app, "post-dept", paper_forms())
        wb = load_workbook(export(runner, "post-dept", tmp_path / "k20.xlsx", "--shared"))
        rows = table(wb["Your use of the program"], "interaction")["rows"]
        assert rows["A peer supporter reached out but I declined"][2] == "<20"
        assert rows["Yes, I have had a POST interaction"][2] == "32 (48.5%)"
    finally:
        app.extensions["surveykit.engine"].dispose()


NASTY = ["=1+1", "=HYPERLINK(\"http://evil.example\",\"click\")", "+41 22 000", "-5 days", "@SUM(A1:A2)",
         "\tleading tab", "#N/A", "line one\nline two\r\nline three", "Ünïcödé — 日本語 — emoji 🙂",
         "x" * 10_000]

NOTES = """
id: notes
version: 1
title: Notes
sections:
  - id: s
    questions:
      - {id: kind, type: single_choice, text: Kind, choices: [Note, Idea], other: true}
      - {id: note, type: text, long: true, max_length: 20000, text: Your note}
"""


@pytest.fixture
def notes_app(database_url, tmp_path):
    from conftest import make_test_app

    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "notes.yaml").write_text(NOTES, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    runner = app.test_cli_runner()
    open_survey(runner, "notes", "notes")
    forms = [{"kind": "other", "kind__other": f"=other {i}", "note": text} for i, text in enumerate(NASTY)]
    store(app, "notes", forms)
    yield app, runner
    app.extensions["surveykit.engine"].dispose()


def test_formula_looking_text_stays_text_in_xlsx(notes_app, tmp_path):
    _app, runner = notes_app
    path = export(runner, "notes", tmp_path / "nasty.xlsx")
    ws = load_workbook(path)["Raw data"]
    rows = list(ws.iter_rows())
    col = {c.value: i for i, c in enumerate(rows[0])}
    cells = [r[col["note"]] for r in rows[1:]]
    # parse_question strips surrounding whitespace and turns CRLF into LF, as for a web submission.
    assert {c.value for c in cells} == {t.replace("\r\n", "\n").strip() for t in NASTY}
    for cell in cells:
        assert cell.data_type == "s", (cell.value, cell.data_type)
        if cell.value[0] in "=+-@" or cell.value == "#N/A":
            assert cell.quotePrefix, cell.value
    others = [r[col["kind.other_text"]] for r in rows[1:]]
    assert all(c.data_type == "s" and c.value.startswith("=other") and c.quotePrefix for c in others)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name  # no formula anywhere


def test_formula_looking_text_is_escaped_in_csv(notes_app, tmp_path):
    _app, runner = notes_app
    path = export(runner, "notes", tmp_path / "nasty.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["kind", "kind.other_text", "note"]
    values = {r[2] for r in rows[1:]}
    for text in ("=1+1", "+41 22 000", "-5 days", "@SUM(A1:A2)"):
        assert "'" + text in values
    assert "leading tab" in values  # stored stripped, like every submitted answer
    assert "line one\nline two\nline three" in values
    assert "Ünïcödé — 日本語 — emoji 🙂" in values and "x" * 10_000 in values
    assert not any(v[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for v in r)


def test_summary_states_invited_and_response_rate(app, runner, tmp_path):
    open_survey(runner, "department-survey", "post-dept", "--mode", "invitation")
    store(app, "post-dept", paper_forms())
    # Invited by the study's own e-mail (the paper's case): recorded, not sent from here.
    assert runner.invoke(args=["surveys", "invited", "post-dept", "--count", "255"]).exit_code == 0
    wb = load_workbook(export(runner, "post-dept", tmp_path / "rate.xlsx"))
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert (summary["Invited"], summary["Responses"], summary["Response rate"]) == (255, 75, "29.4%")
