"""`surveykit import`: Qualtrics and Microsoft Forms exports, our own raw export, mappings, bad files."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from exports.readers import InvalidImport, read_table
from surveyapp.db import new_session
from surveyapp.models import Response

DATA = Path(__file__).parent / "data" / "imports"


def open_survey(runner, instrument: str = "department-survey", slug: str = "dept") -> str:
    result = runner.invoke(args=["surveys", "create", instrument, "--id", slug, "--title", "Imported"])
    assert result.exit_code == 0, result.output
    return slug


def stored(app: Flask, slug: str = "dept") -> list[Response]:
    with app.app_context(), new_session() as session:
        return list(session.scalars(select(Response).where(Response.survey_slug == slug)).all())


def by_department(responses: list[Response]) -> dict[str, dict]:
    return {r.answers["department"]: r.answers for r in responses}


def run_import(runner, *args: str):
    return runner.invoke(args=["import", *args])


def test_qualtrics_three_header_csv(app, runner, tmp_path):
    open_survey(runner)
    report = tmp_path / "report.csv"
    result = run_import(runner, "dept", str(DATA / "qualtrics-department.csv"), "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "imported 4 responses" in result.output
    assert "left out 1 preview/test/spam rows" in result.output
    for name in ("StartDate", "EndDate", "IPAddress", "RecordedDate", "ResponseId", "RecipientLastName",
                 "RecipientFirstName", "RecipientEmail", "ExternalReference", "LocationLatitude",
                 "LocationLongitude"):
        assert f"'{name}'" in result.output

    rows = by_department(stored(app))
    assert set(rows) == {"em", "icu", "hospitalists", "anesthesia"}
    em = rows["em"]
    assert em["aware"] == "yes" and em["interaction"] == "had" and em["interaction_count"] == "two"
    assert em["helpfulness"] == 4 and em["department_impact"] == 4 and em["satisfaction"] == 5
    assert em["barriers"] == ["time", "privacy"]
    assert em["benefits_text"] == "It helped me see the case differently.\nI slept better after."
    assert em["suggestions_text"] == "=cmd|' /C calc'!A0"  # kept as written; exports write it as text
    assert em["age_group"] == "a35_44"  # "35–44" with an en dash
    hospitalists = rows["hospitalists"]
    assert hospitalists["barriers"] == ["time", "other"] and hospitalists["barriers.other"] == "night shifts"
    assert hospitalists["interaction"] == "never" and "helpfulness" not in hospitalists
    assert rows["icu"] == {"department": "icu", "gender": "man", "age_group": "a45_54",
                           "years_in_practice": "y11_20", "setting": "both", "aware": "no"}
    # The unaware anaesthetist's answer to a question they could not have been shown is dropped.
    assert "referred_colleague" not in rows["anesthesia"]
    assert "dropped 1 answers to questions the skip logic hides" in result.output

    # Only the day is kept, from Qualtrics' RecordedDate.
    days = {r.answers["department"]: r.submitted_on for r in stored(app)}
    assert days == {"em": dt.date(2022, 3, 14), "icu": dt.date(2022, 3, 15),
                    "hospitalists": dt.date(2022, 3, 16), "anesthesia": dt.date(2022, 3, 17)}
    # Nothing identifying reaches the answers.
    flat = repr([r.answers for r in stored(app)])
    for secret in ("jane.doe@example.org", "Doe", "203.0.113.7", "R_1abc", "10:09", "37.80"):
        assert secret not in flat

    with report.open(encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    actions = [line[3] for line in lines]
    assert actions.count("column dropped") == 17
    assert "row left out" in actions and "answer dropped" in actions
    left_out = next(line for line in lines if line[3] == "row left out")
    assert left_out[0] == "qualtrics-department.csv:6"  # the first data row spans lines 4 and 5
    dropped = next(line for line in lines if line[3] == "answer dropped")
    assert dropped[0] == "qualtrics-department.csv:9, column X ('Q7')" and dropped[1] == "referred_colleague"
    assert "aware is yes" in dropped[2]


def forms_workbook(path: Path, rows: list[list]) -> Path:
    """Write a workbook laid out as Microsoft Forms exports it: ID, times, e-mail, name, then question texts."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["ID", "Start time", "Completion time", "Email", "Name",
               "Which department do you work in?", "Are you aware of the POST peer support program in your "
               "department?", "Have you had a POST peer support interaction?",
               "What might keep you from accepting POST peer support? Choose all that apply.",
               "Overall, how satisfied are you with the POST program?", "How could POST be improved?"])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_microsoft_forms_workbook(app, runner, tmp_path):
    open_survey(runner)
    start, done = dt.datetime(2022, 3, 9, 8, 0, 5), dt.datetime(2022, 3, 9, 8, 6, 41)
    path = forms_workbook(tmp_path / "forms.xlsx", [
        [1, start, done, "anonymous", None, "Emergency Medicine", "Yes", "Yes, I have had a POST interaction",
         "Lack of time;Privacy concerns;", "Very satisfied", "More supporters"],
        [2, start, done, "anonymous", None, "Obstetrics and Gynecology", "Yes",
         "A peer supporter reached out but I declined", "Lack of time;night shifts;", 3, None],
        [3, start, dt.datetime(2022, 3, 10, 23, 59), "x@example.org", "X Y", "Anesthesia", "No", None, None, None,
         None],
    ])
    result = run_import(runner, "dept", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 responses" in result.output
    for name in ("ID", "Start time", "Completion time", "Email", "Name"):
        assert f"'{name}'" in result.output
    rows = by_department(stored(app))
    assert rows["em"]["barriers"] == ["time", "privacy"] and rows["em"]["satisfaction"] == 5
    assert rows["em"]["suggestions_text"] == "More supporters"
    # Forms writes an "Other" answer's own text among the options.
    assert rows["obgyn"]["barriers"] == ["time", "other"] and rows["obgyn"]["barriers.other"] == "night shifts"
    assert rows["obgyn"]["satisfaction"] == 3  # a level given as a number
    assert rows["anesthesia"] == {"department": "anesthesia", "gender": None, "age_group": None,
                                  "years_in_practice": None, "setting": None, "aware": "no"}
    assert {r.submitted_on for r in stored(app)} == {dt.date(2022, 3, 9), dt.date(2022, 3, 10)}
    assert "x@example.org" not in repr([r.answers for r in stored(app)])


def test_bad_file_is_rejected_with_line_and_column_and_nothing_stored(app, runner, tmp_path):
    open_survey(runner)
    report = tmp_path / "bad-report.csv"
    result = run_import(runner, "dept", str(DATA / "bad-rows.csv"), "--report", str(report))
    assert result.exit_code == 1
    assert "nothing imported: 3 problems" in result.output
    assert "bad-rows.csv:3, column B ('aware'): question 'aware': 'Maybe' is not an option (Yes, No)" in result.output
    assert "bad-rows.csv:4, column A ('department'): question 'department': This question needs an answer." \
        in result.output
    assert "bad-rows.csv:5, column D ('interaction'): question 'interaction': 'two words' is not an option" \
        in result.output
    assert stored(app) == []
    assert "bad-rows.csv:3" in report.read_text(encoding="utf-8-sig")


def test_skip_invalid_imports_the_clean_rows_and_reports_the_rest(app, runner, tmp_path):
    open_survey(runner)
    source = tmp_path / "bad-rows.csv"
    shutil.copy(DATA / "bad-rows.csv", source)
    result = run_import(runner, "dept", str(source), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "imported 1 responses" in result.output and "skipped 3 invalid rows" in result.output
    [only] = stored(app)
    assert only.answers["department"] == "em" and only.answers["referred_colleague"] == "yes"
    report = (tmp_path / "bad-rows.csv.import-report.csv").read_text(encoding="utf-8-sig")
    assert report.count("row skipped") == 3 and "'Maybe' is not an option" in report


def test_mapping_file_maps_columns_and_values(app, runner):
    open_survey(runner)
    result = run_import(runner, "dept", str(DATA / "mapped.csv"), "--mapping", str(DATA / "mapped.yaml"))
    assert result.exit_code == 0, result.output
    assert "'Timestamp'" in result.output  # an exact time: dropped
    rows = by_department(stored(app))
    assert rows["obgyn"]["aware"] == "yes" and rows["obgyn"]["barriers"] == ["time", "privacy"]
    assert rows["obgyn"]["interaction"] == "had" and rows["obgyn"]["suggestions_text"] == "fine"
    assert rows["em"]["aware"] == "no"
    assert {r.submitted_on for r in stored(app)} == {dt.date(2022, 3, 2), dt.date(2022, 3, 3)}


def test_unmatched_column_stops_the_import(app, runner, tmp_path):
    open_survey(runner)
    path = tmp_path / "extra.csv"
    path.write_text("department,aware,favourite colour\nem,no,blue\n", encoding="utf-8")
    result = run_import(runner, "dept", str(path))
    assert result.exit_code == 1
    assert "extra.csv:1, column C ('favourite colour'): matches no question" in result.output
    assert stored(app) == []


def test_bad_mapping_file_names_its_line(app, runner, tmp_path):
    open_survey(runner)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  Dept: department\n  Aware: awareness\n", encoding="utf-8")
    result = run_import(runner, "dept", str(DATA / "mapped.csv"), "--mapping", str(mapping))
    assert result.exit_code == 1
    assert "map.yaml:3: column 'Aware': 'awareness' names no question" in result.output


def test_missing_required_column_is_named(app, runner, tmp_path):
    open_survey(runner)
    path = tmp_path / "noaware.csv"
    path.write_text("department\nem\n", encoding="utf-8")
    result = run_import(runner, "dept", str(path))
    assert result.exit_code == 1
    assert "no column for the required question 'aware'" in result.output


def test_not_utf8_is_refused_clearly(app, runner, tmp_path):
    open_survey(runner)
    path = tmp_path / "latin1.csv"
    path.write_bytes("department,aware\nem,oui é\n".encode("latin-1"))
    result = run_import(runner, "dept", str(path))
    assert result.exit_code == 1 and "not UTF-8" in result.output


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_own_raw_export_round_trips(app, runner, tmp_path, suffix):
    open_survey(runner)
    first = run_import(runner, "dept", str(DATA / "qualtrics-department.csv"))
    assert first.exit_code == 0, first.output
    out = tmp_path / f"raw.{suffix}"
    exported = runner.invoke(args=["export", "dept", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    open_survey(runner, slug="dept-copy")
    again = run_import(runner, "dept-copy", str(out))
    assert again.exit_code == 0, again.output
    assert "imported 4 responses" in again.output
    original = sorted((r.answers for r in stored(app, "dept")), key=repr)
    copied = sorted((r.answers for r in stored(app, "dept-copy")), key=repr)
    assert copied == original  # formula-looking text, newlines, 'Other' texts and skip logic all survive


def test_reader_detects_flavours():
    assert read_table(DATA / "qualtrics-department.csv").flavour == "qualtrics"
    assert read_table(DATA / "bad-rows.csv").flavour == "plain"
    table = read_table(DATA / "qualtrics-department.csv")
    assert [row.line for row in table.rows()] == [4, 6, 7, 8, 9]


MATRIX = """
id: matrix
version: 1
title: Matrix
sections:
  - id: s
    questions:
      - {id: unit, type: single_choice, text: Your unit, choices: [Ward A, Ward B], required: true}
      - id: climate
        type: likert
        text: How much do you agree?
        scale: agreement
        items: [{id: safe, text: I feel safe speaking up}, {id: heard, text: I am heard}]
"""


def test_likert_matrix_columns_by_text_and_by_id(tmp_path):
    from exports.imports import Mapping, check_row, plan_columns
    from instrument import parse_instrument

    inst = parse_instrument(MATRIX, "matrix.yaml")
    by_text = tmp_path / "qualtrics-like.csv"
    by_text.write_text("Your unit,How much do you agree? - I feel safe speaking up,How much do you agree? - I am "
                       "heard\nWard B,Agree,5\nWard A,Maybe,\n", encoding="utf-8")
    table = read_table(by_text)
    plan = plan_columns(table, inst)
    assert {t.key for t in plan.targets.values()} == {"", "safe", "heard"}
    rows = list(table.rows())
    answers, problems, _ = check_row(inst, table, plan, Mapping(), rows[0])
    assert problems == [] and answers == {"unit": "ward_b", "climate": {"safe": 4, "heard": 5}}
    answers, problems, _ = check_row(inst, table, plan, Mapping(), rows[1])
    assert answers is None
    assert [str(p) for p in problems] == ["qualtrics-like.csv:3, column B ('How much do you agree? - I feel safe "
                                          "speaking up'): question 'climate': 'Maybe' is not a point of the scale "
                                          "(Strongly disagree, Disagree, Neither agree nor disagree, Agree, "
                                          "Strongly agree)"]
    whole = tmp_path / "whole.csv"
    whole.write_text("unit,climate\nward_a,4\n", encoding="utf-8")
    with pytest.raises(InvalidImport, match=r"whole.csv:1, column B \('climate'\): 'climate' is a Likert matrix, "
                       "answered one statement per column: map its columns as climate.safe, climate.heard"):
        plan_columns(read_table(whole), inst)
