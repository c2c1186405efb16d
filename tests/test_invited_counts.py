"""Response rates of a survey sent by another channel: `surveys invited`, imported answers counted, and the
status, the rates page and the workbook all saying the paper's 75/255 = 29.4%, per department too."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from paper_data import paper_forms
from survey_setup import export, open_survey, store

from surveyapp.auth.models import create_user
from surveyapp.db import new_session

from conftest import csrf_from

# Invited per department by the study's own e-mail (255 in all); answering: the paper's 75.
INVITED = {"Emergency Medicine": 100, "Obstetrics and Gynecology": 50, "Hospitalists": 45,
           "Intensive Care Unit": 35, "Anesthesia": 25}
ANSWERED = {"Emergency Medicine": 30, "Obstetrics and Gynecology": 15, "Hospitalists": 12,
            "Intensive Care Unit": 10, "Anesthesia": 8}
RATES = {"Emergency Medicine": 30.0, "Obstetrics and Gynecology": 30.0, "Hospitalists": 26.7,
         "Intensive Care Unit": 28.6, "Anesthesia": 32.0}
PASSWORD = "investigator passphrase"


def counts_csv(tmp_path: Path, rows: dict[str, object], name: str = "invited.csv") -> Path:
    path = tmp_path / name
    path.write_text("department,invited\n" + "".join(f"{d},{n}\n" for d, n in rows.items()), encoding="utf-8")
    return path


def forms_file(app: Flask, runner, tmp_path: Path) -> Path:
    """Return the paper's 75 answers as a file to import (our own raw CSV export of another survey)."""
    open_survey(runner, "department-survey", "source")
    store(app, "source", paper_forms())
    return export(runner, "source", tmp_path / "answers.csv")


def status(runner, slug: str, *extra: str) -> dict:
    result = runner.invoke(args=["surveys", "status", slug, "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def rates_page(app: Flask, slug: str) -> dict[str, list[str]]:
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead")
        s.commit()
    client = app.test_client()
    page = client.get("/auth/login")
    client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": "lead@example.org",
                                     "password": PASSWORD})
    html = client.get(f"/admin/s/{slug}").text
    table = html.split('<table class="rates">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def summary_of(path: Path) -> tuple[dict, dict]:
    rows = list(load_workbook(path)["Summary"].iter_rows(values_only=True))
    facts = {r[0]: r[1] for r in rows if r[0]}
    start = next(i for i, r in enumerate(rows) if r[0] == "Response rate by department")
    departments = {}
    for r in rows[start + 1:]:
        if r[0] is None:
            break
        departments[r[0]] = list(r[1:4])
    return facts, departments


@pytest.mark.parametrize("mode", ["open", "invitation"])
def test_imported_answers_and_recorded_counts_agree_everywhere(app, runner, tmp_path, mode):
    answers = forms_file(app, runner, tmp_path)
    open_survey(runner, "department-survey", "paper", "--mode", mode)
    recorded = runner.invoke(args=["surveys", "invited", "paper", "--by-department", str(counts_csv(tmp_path,
                                                                                                    INVITED))])
    assert recorded.exit_code == 0, recorded.output
    assert "recorded 255 invited by another channel in 5 departments" in recorded.output
    imported = runner.invoke(args=["import", "paper", str(answers)])
    assert imported.exit_code == 0 and "imported 75 responses" in imported.output, imported.output

    data = status(runner, "paper")
    assert (data["invited"], data["answered"], data["response_rate"]) == (255, 75, 29.4)
    assert {d: (r["invited"], r["answered"], r["response_rate"]) for d, r in data["departments"].items()} == {
        d: (INVITED[d], ANSWERED[d], RATES[d]) for d in INVITED}
    text = runner.invoke(args=["surveys", "status", "paper"]).output
    assert "invited 255 (255 by another channel), answered 75 (29.4%)" in text

    page = rates_page(app, "paper")
    assert page["All"] == ["255", "75", "29.4 %"]
    for d in INVITED:
        assert page[d] == [str(INVITED[d]), str(ANSWERED[d]), f"{RATES[d]:.1f} %"]

    facts, departments = summary_of(export(runner, "paper", tmp_path / "paper.xlsx"))
    assert (facts["Invited"], facts["Responses"], facts["Response rate"]) == (255, 75, "29.4%")
    assert departments == {d: [INVITED[d], ANSWERED[d], f"{RATES[d]:.1f}%"] for d in INVITED}


def test_a_count_without_departments_and_recording_again_replaces(app, runner, tmp_path):
    answers = forms_file(app, runner, tmp_path)
    open_survey(runner, "department-survey", "paper", "--mode", "invitation")
    assert runner.invoke(args=["surveys", "invited", "paper", "--count", "300"]).exit_code == 0
    assert runner.invoke(args=["surveys", "invited", "paper", "--count", "255"]).exit_code == 0  # replaces
    assert runner.invoke(args=["import", "paper", str(answers)]).exit_code == 0
    data = status(runner, "paper")
    assert (data["invited"], data["answered"], data["response_rate"]) == (255, 75, 29.4)
    assert data["departments"] == {}  # the count is not split, so no department can have a rate
    facts, _ = summary_of_or_none(export(runner, "paper", tmp_path / "paper.xlsx"))
    assert (facts["Invited"], facts["Response rate"]) == (255, "29.4%")


def summary_of_or_none(path: Path) -> tuple[dict, None]:
    rows = list(load_workbook(path)["Summary"].iter_rows(values_only=True))
    assert not any(r[0] == "Response rate by department" for r in rows)
    return {r[0]: r[1] for r in rows if r[0]}, None


def test_answers_through_invitations_and_imported_are_each_counted_once(app, runner, tmp_path):
    """Roster answers count in the roster's department, imported ones in the department they name."""
    from surveyapp.models import Invitation

    answers = forms_file(app, runner, tmp_path)
    open_survey(runner, "department-survey", "mixed", "--mode", "invitation")
    with app.app_context(), new_session() as s:
        # Ten sent by surveykit to Emergency Medicine, four of whom answered (their answers stored by the app).
        s.add_all(Invitation(survey_slug="mixed", email=f"em{i}@h.example", department="Emergency Medicine",
                             answered=i < 4, invited_on=None if i < 4 else dt.date(2022, 3, 1))
                  for i in range(10))
        s.commit()
    store(app, "mixed", paper_forms()[:4])  # the four answers that came through the invitations
    counts = dict(INVITED, **{"Emergency Medicine": 90})  # the other 90 of EM got the study's own e-mail
    assert runner.invoke(args=["surveys", "invited", "mixed", "--by-department",
                               str(counts_csv(tmp_path, counts))]).exit_code == 0
    assert runner.invoke(args=["import", "mixed", str(answers)]).exit_code == 0
    data = status(runner, "mixed", "--exact")
    assert (data["invited"], data["answered"]) == (255, 79)
    em = data["departments"]["Emergency Medicine"]
    assert (em["invited"], em["answered"]) == (100, 34)  # 10 + 90 invited; 4 through links + 30 imported
    assert sum(r["answered"] for r in data["departments"].values()) == 79


@pytest.mark.parametrize(("rows", "message"), [
    ({"Emergency Medicine": "many"}, "invited.csv:2, column B ('invited'): 'many' is not a whole number"),
    ({"Cardiology": 5}, "invited.csv:2, column A ('department'): 'Cardiology' is not a department of question "
                        "'department'"),
    ({"em": 5, "Emergency medicine": 6}, "invited.csv:3, column A ('department'): 'Emergency medicine' again"),
])
def test_bad_counts_file_names_line_and_column_and_records_nothing(app, runner, tmp_path, rows, message):
    open_survey(runner, "department-survey", "paper")
    result = runner.invoke(args=["surveys", "invited", "paper", "--by-department", str(counts_csv(tmp_path, rows))])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert status(runner, "paper")["invited_elsewhere"] == 0


def test_invited_needs_exactly_one_source(app, runner, tmp_path):
    open_survey(runner, "department-survey", "paper")
    assert runner.invoke(args=["surveys", "invited", "paper"]).exit_code == 2
    both = runner.invoke(args=["surveys", "invited", "paper", "--count", "5", "--by-department",
                               str(counts_csv(tmp_path, {"em": 5}))])
    assert both.exit_code == 2 and "either --count N or --by-department" in both.output
