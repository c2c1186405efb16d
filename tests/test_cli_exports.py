"""The export command's options and errors, the progress bar, and the investigators' download links."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from paper_data import paper_forms
from survey_setup import open_survey, store

from surveyapp.auth.models import create_user
from surveyapp.db import new_session

from conftest import csrf_from

PASSWORD = "investigator passphrase"


@pytest.fixture
def dept(app, runner) -> str:
    open_survey(runner, "department-survey", "post-dept")
    store(app, "post-dept", paper_forms())
    return "post-dept"


def test_format_follows_the_suffix_and_csv_has_one_row_per_response(runner, dept, tmp_path):
    result = runner.invoke(args=["export", dept, "--out", str(tmp_path / "raw.csv")])
    assert result.exit_code == 0, result.output
    assert "wrote 75 responses" in result.output
    with (tmp_path / "raw.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 76 and rows[0][0] == "department"
    forced = runner.invoke(args=["export", dept, "--out", str(tmp_path / "raw.data"), "--format", "csv"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "raw.data").read_bytes() == (tmp_path / "raw.csv").read_bytes()


def test_no_raw_leaves_out_the_answers(runner, dept, tmp_path):
    result = runner.invoke(args=["export", dept, "--out", str(tmp_path / "t.xlsx"), "--no-raw"])
    assert result.exit_code == 0, result.output
    names = load_workbook(tmp_path / "t.xlsx").sheetnames
    assert "Raw data" not in names and "Data dictionary" not in names and "Likert" in names


MAPPING = str(Path(__file__).parent / "data" / "imports" / "mapped.yaml")


@pytest.mark.parametrize(("args", "message"), [
    (["export", "nope", "--out", "{tmp}/x.xlsx"], "no survey 'nope'"),
    (["export", "post-dept", "--out", "{tmp}/x.xlsx", "--by", "nothing"], "--by nothing: no question 'nothing'"),
    (["export", "post-dept", "--out", "{tmp}/x.xlsx", "--by", "barriers"], "needs a single-choice question"),
    (["export", "post-dept", "--out", "{tmp}/missing-folder/x.xlsx"], "no such folder"),
    (["export", "post-dept", "--out", "{tmp}/x.csv", "--by", "aware"], "CSV holds the raw data only"),
    (["import", "post-dept", MAPPING], "unknown file type '.yaml'"),
    (["import", "nope", MAPPING], "no survey 'nope'"),
    (["reach", "post-dept", "--out", "{tmp}/r.xlsx", "--start", "2022-13-01"], "is not a date"),
])
def test_clear_errors(runner, dept, tmp_path, args, message):
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=[a.format(tmp=out) for a in args])
    assert result.exit_code != 0
    assert message in result.output
    assert list(out.iterdir()) == []  # nothing half-written


def test_long_exports_show_a_progress_bar(runner, dept, tmp_path, monkeypatch):
    monkeypatch.setattr("surveyapp.commands.exports.PROGRESS_FROM", 10)
    result = runner.invoke(args=["export", dept, "--out", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 0, result.output
    assert "exporting 75 responses" in result.output


def test_an_empty_survey_exports_cleanly(runner, tmp_path):
    open_survey(runner, "department-survey", "empty")
    result = runner.invoke(args=["export", "empty", "--out", str(tmp_path / "e.xlsx")])
    assert result.exit_code == 0, result.output
    wb = load_workbook(tmp_path / "e.xlsx")
    assert list(wb["Raw data"].iter_rows(values_only=True))[1:] == []
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Responses"] == 0


# Downloads ------------------------------------------------------------------------------------------------


def logged_in(app: Flask) -> FlaskClient:
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead")
        s.commit()
    client = app.test_client()
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": "lead@example.org",
                                                "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_downloads_need_a_login(client, dept):
    for suffix in ("xlsx", "csv"):
        response = client.get(f"/admin/surveys/{dept}/export.{suffix}")
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]


def fetch(client: FlaskClient, url: str) -> tuple[int, dict, bytes]:
    """GET *url* and close the response (a download streams an open file until closed)."""
    with client.get(url) as response:
        return response.status_code, dict(response.headers), response.get_data()


def test_download_workbook_and_csv(app, dept):
    client = logged_in(app)
    status, headers, data = fetch(client, f"/admin/surveys/{dept}/export.xlsx")
    assert status == 200
    assert headers["Content-Disposition"].startswith(f"attachment; filename={dept}-")
    assert headers["Cache-Control"] == "no-store"
    wb = load_workbook(io.BytesIO(data))
    assert ["Yes", 66, 88.0, "66 (88.0%)"] in [list(r[:4]) for r in wb["The POST program"].iter_rows(values_only=True)]
    # Investigators hold the raw answers: their download is exact, with the raw data.
    rows = [r for r in wb["Your view of the program"].iter_rows(values_only=True) if r[0] == "Medical-legal concerns"]
    assert rows[0][1] == 2 and "Raw data" in wb.sheetnames
    _, headers, data = fetch(client, f"/admin/surveys/{dept}/export.xlsx?shared=1")
    assert headers["Content-Disposition"].startswith(f"attachment; filename={dept}-shared-")
    shared = load_workbook(io.BytesIO(data))
    rows = [r for r in shared["Your view of the program"].iter_rows(values_only=True)
            if r[0] == "Medical-legal concerns"]
    assert rows[0][1] == "<5" and "Raw data" not in shared.sheetnames
    status, headers, data = fetch(client, f"/admin/surveys/{dept}/export.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == 76
    assert fetch(client, "/admin/surveys/nope/export.xlsx")[0] == 404
