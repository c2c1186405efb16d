"""Imports that never guess: Qualtrics' three layouts (qualtRics' own test files), a Microsoft Forms export with
a word the mapping does not know, Qualtrics header suffixes, repeated question texts, mapping files with one
section."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from exports.imports import Mapping, check_row, load_mapping, plan_columns
from exports.readers import InvalidImport, read_table
from instrument import load_instrument, parse_instrument
from surveyapp.db import new_session
from surveyapp.models import Response

QUALTRICS = Path(__file__).parent / "data" / "qualtrics"
DEPARTMENT = load_instrument(Path(__file__).parent.parent / "instruments" / "department-survey.yaml")
IDENTIFYING_3 = ("StartDate", "EndDate", "IPAddress", "RecordedDate", "ResponseId", "RecipientLastName",
                 "RecipientFirstName", "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude")
IDENTIFYING_LEGACY = ("ResponseID", "Name", "ExternalDataReference", "EmailAddress", "IPAddress", "StartDate",
                      "EndDate", "LocationLatitude", "LocationLongitude", "LocationAccuracy")


def stored(app, slug: str) -> list[dict]:
    with app.app_context(), new_session() as session:
        return [r.answers for r in session.scalars(select(Response).where(Response.survey_slug == slug))]


def sample_survey(app, runner, tmp_path: Path) -> Path:
    folder = tmp_path / "instruments"
    folder.mkdir()
    shutil.copy(QUALTRICS / "sample.yaml", folder / "sample.yaml")
    app.config["SURVEYKIT_INSTRUMENTS_DIR"] = str(folder)
    result = runner.invoke(args=["surveys", "create", "qualtrics-sample", "--id", "sample"])
    assert result.exit_code == 0, result.output
    mapping = tmp_path / "values-only.yaml"  # Qualtrics wrote the choices' numbers: a 'values' section alone
    mapping.write_text('values:\n  choice: {"1": first, "2": second}\n', encoding="utf-8")
    return mapping


@pytest.mark.parametrize(("name", "layout", "identifying", "text_iq"), [
    ("sample.csv", "Qualtrics, 3 header rows", IDENTIFYING_3, True),
    ("sample_two_header_rows.csv", "Qualtrics, 2 header rows", IDENTIFYING_3, True),
    ("sample_legacy.csv", "Qualtrics legacy (V1...Vn", IDENTIFYING_LEGACY, False),
])
def test_qualtrics_layouts_of_the_qualtrics_package(app, runner, tmp_path, name, layout, identifying, text_iq):
    mapping = sample_survey(app, runner, tmp_path)
    report = tmp_path / "report.csv"
    result = runner.invoke(args=["import", "sample", str(QUALTRICS / name), "--mapping", str(mapping),
                                 "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert f"read as: {layout}" in result.output
    # One respondent, not two: the question-text row is never read as answers.
    assert "imported 1 responses" in result.output
    assert stored(app, "sample") == [{"choice": "second", "free": "Hello World!"}]
    dropped = result.output.split("dropped columns (identifies a respondent:", 1)[1].splitlines()[0]
    for header in identifying:
        assert f"'{header}'" in dropped
    assert ("Text iQ columns ignored (analysis, not answers): Q2 - Topics" in result.output) == text_iq
    flat = repr(stored(app, "sample"))
    for secret in ("130.92.34.66", "R_2YPOQ602ER1jkf1", "47.11", "Anonym", "2017"):
        assert secret not in flat
    with report.open(encoding="utf-8-sig") as handle:
        assert any(line[2].startswith(f"read as: {layout}") for line in csv.reader(handle))


def test_two_header_rows_were_read_as_a_respondent_by_the_old_reader(tmp_path):
    """Control: a reader that only knows the ImportId row takes the question texts for a first respondent."""
    table = read_table(QUALTRICS / "sample_two_header_rows.csv")
    assert table.first_data_line == 3 and [row.line for row in table.rows()] == [3]
    table.header_rows = 1  # the old reader's view of this file
    assert [row.line for row in table.rows()] == [2, 3]


def test_first_row_of_question_texts_is_refused_when_not_recognised(app, runner, tmp_path):
    sample_survey(app, runner, tmp_path)
    path = tmp_path / "texts.csv"  # no Qualtrics columns to tell the text row by: columns mapped by hand
    path.write_text("Q1,Q2\nThis is a multiple choice question.,This is a free text question.\n2,Hello\n",
                    encoding="utf-8")
    mapping = tmp_path / "columns-only.yaml"
    mapping.write_text("columns:\n  Q1: choice\n  Q2: free\n", encoding="utf-8")
    result = runner.invoke(args=["import", "sample", str(path), "--mapping", str(mapping)])
    assert result.exit_code == 1
    assert "texts.csv:2: holds the question texts, not answers" in result.output
    assert stored(app, "sample") == []


def test_mapping_with_neither_section_is_refused_clearly(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("separator: ';'\n", encoding="utf-8")
    with pytest.raises(InvalidImport, match="needs 'columns' .* 'values' .* or both"):
        load_mapping(path, DEPARTMENT)
    only_values = tmp_path / "values.yaml"
    only_values.write_text("values:\n  aware: {Y: 'yes'}\n", encoding="utf-8")
    assert load_mapping(only_values, DEPARTMENT).values == {"aware": {"y": "yes"}}


# Microsoft Forms -------------------------------------------------------------------------------------------

FORMS_HEADERS = ["ID", "Start time", "Completion time", "Email", "Name", "Which department do you work in?",
                 "Are you aware of the POST peer support program in your department?",
                 "Have you had a POST peer support interaction?",
                 "What might keep you from accepting POST peer support? Choose all that apply."]


def forms_export(path: Path) -> Path:
    """A Microsoft Forms export as documented: ID, Start time, Completion time, Email, Name, one column per
    question by its text; a multiple-choice answer is the chosen labels each followed by ';'."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(FORMS_HEADERS)
    start = dt.datetime(2022, 3, 9, 8, 0, 5)
    for i in range(20):
        barriers = "Lack of time;not comfortable talking about emotions;" if i < 12 else "Privacy concerns;"
        ws.append([i + 1, start, start + dt.timedelta(minutes=6), "anonymous", None, "Emergency Medicine", "Yes",
                   "No peer supporter has reached out to me", barriers])
    ws.append([21, start, start, "anonymous", None, "Hospitalists", "Yes", "No peer supporter has reached out to me",
               "night shifts;"])
    wb.save(path)
    return path


def forms_survey(app, runner) -> None:
    result = runner.invoke(args=["surveys", "create", "department-survey", "--id", "dept"])
    assert result.exit_code == 0, result.output


def test_forms_word_not_in_the_options_is_stored_as_other_only_with_a_summary(app, runner, tmp_path):
    forms_survey(app, runner)
    result = runner.invoke(args=["import", "dept", str(forms_export(tmp_path / "forms.xlsx"))])
    assert result.exit_code == 0, result.output
    assert "read as: Microsoft Forms" in result.output
    assert "stored as Other (13 answers;" in result.output
    column = "column I ('What might keep you from accepting POST peer support? Choose all that apply.')"
    assert f"  barriers, {column}: 'not comfortable talking about emotions' x12" in result.output
    assert f"  barriers, {column}: 'night shifts' x1" in result.output
    answers = stored(app, "dept")
    assert sum("other" in a["barriers"] for a in answers) == 13
    for name in ("ID", "Start time", "Completion time", "Email", "Name"):
        assert f"'{name}'" in result.output


def test_forms_strict_refuses_every_text_stored_as_other_and_stores_nothing(app, runner, tmp_path):
    forms_survey(app, runner)
    result = runner.invoke(args=["import", "dept", str(forms_export(tmp_path / "forms.xlsx")), "--strict"])
    assert result.exit_code == 1
    assert "nothing imported: 13 problems" in result.output
    assert ("forms.xlsx:2, column I ('What might keep you from accepting POST peer support? Choose all that "
            "apply.'): question 'barriers': 'not comfortable talking about emotions' is not an option") in result.output
    assert "forms.xlsx:22, column I" in result.output and "'night shifts' is not an option" in result.output
    assert stored(app, "dept") == []


def test_forms_word_mapped_by_a_values_only_mapping(app, runner, tmp_path):
    forms_survey(app, runner)
    mapping = tmp_path / "words.yaml"
    mapping.write_text("values:\n  barriers:\n    not comfortable talking about emotions: discomfort\n",
                       encoding="utf-8")
    result = runner.invoke(args=["import", "dept", str(forms_export(tmp_path / "forms.xlsx")), "--mapping",
                                 str(mapping)])
    assert result.exit_code == 0, result.output
    assert "'night shifts' x1" in result.output and "x12" not in result.output
    answers = stored(app, "dept")
    assert sum("discomfort" in a["barriers"] for a in answers) == 12
    assert sum("other" in a["barriers"] for a in answers) == 1


NO_OTHER = """
id: no-other
version: 1
title: No other
sections:
  - id: s
    questions:
      - id: barriers
        type: multiple_choice
        text: What might keep you from accepting POST peer support? Choose all that apply.
        choices: [Lack of time, Privacy concerns, Not comfortable talking about emotions with colleagues]
"""


def test_unknown_word_without_an_other_option_is_an_error_naming_the_cell(tmp_path):
    inst = parse_instrument(NO_OTHER, "no-other.yaml")
    table = read_table(forms_export(tmp_path / "forms.xlsx"))
    plan = plan_columns(table, inst, Mapping(columns={h: ("drop", 1) for h in FORMS_HEADERS[5:8]}))
    row = next(iter(table.rows()))
    answers, problems, _ = check_row(inst, table, plan, Mapping(), row)
    assert answers is None
    assert [str(p) for p in problems] == [
        "forms.xlsx:2, column I ('What might keep you from accepting POST peer support? Choose all that apply.'): "
        "question 'barriers': 'not comfortable talking about emotions': not among the options (Lack of time, "
        "Privacy concerns, Not comfortable talking about emotions with colleagues); if it means an option, map it: "
        "values: {barriers: {'not comfortable talking about emotions': CODE}}"]


# Qualtrics header suffixes and repeated texts -----------------------------------------------------------------

def test_selected_choice_other_text_and_one_column_per_option(tmp_path):
    q = "What might keep you from accepting POST peer support? Choose all that apply."
    path = tmp_path / "suffixes.csv"  # two header rows, as Qualtrics writes them without the ImportId row
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["StartDate", "Progress", "Q1", "Q2", "Q3", "Q5", "Q5_6_TEXT", "Q2 - Sentiment Score"])
        out.writerow(["Start Date", "Progress", "Which department do you work in?",
                      "Are you aware of the POST peer support program in your department?",
                      "Have you had a POST peer support interaction?",
                      f"{q} - Selected Choice", f"{q} - Other (please specify) - Text", "Q2 - Sentiment Score"])
        out.writerow(["2022-03-14 10:01:02", "100", "Emergency Medicine", "Yes", "No peer supporter has reached out "
                      "to me", "Lack of time,Other (please specify)", "night shifts", "0.5"])
    table = read_table(path)
    assert table.layout.startswith("Qualtrics, 2 header rows")
    plan = plan_columns(table, DEPARTMENT)
    targets = {table.headers[i]: (t.kind, t.question.id) for i, t in plan.targets.items()}
    assert targets["Q5"] == ("value", "barriers") and targets["Q5_6_TEXT"] == ("other_text", "barriers")
    assert ("Q2 - Sentiment Score", "Qualtrics Text iQ (topics, sentiment), not an answer") in plan.dropped
    answers, problems, _ = check_row(DEPARTMENT, table, plan, Mapping(), next(iter(table.rows())))
    assert problems == [] and answers is not None
    assert answers["barriers"] == ["time", "other"] and answers["barriers.other"] == "night shifts"

    flags = tmp_path / "flags.csv"
    flags.write_text(f"aware,department,Q5_1,Q5_3,Q5_6\n,,{q} - Selected Choice - Lack of time,"
                     f"{q} - Selected Choice - Privacy concerns,{q} - Selected Choice - Other\n", encoding="utf-8")
    table = read_table(flags)
    table.texts = next(iter(table.rows())).cells  # the texts row, as a 2-row Qualtrics file carries it
    plan = plan_columns(table, DEPARTMENT)
    assert sorted((t.kind, t.key) for t in plan.targets.values() if t.question.id == "barriers") == [
        ("flag", "other"), ("flag", "privacy"), ("flag", "time")]


SHARED = """
id: shared
version: 1
title: Shared texts
sections:
  - id: before
    questions:
      - {id: mood_before, type: text, text: "How do you feel?"}
  - id: after
    questions:
      - {id: mood_after, type: text, text: "How do you feel?"}
"""


def test_repeated_question_texts_matched_in_order_or_refused_with_the_mapping_line(tmp_path):
    inst = parse_instrument(SHARED, "shared.yaml")
    two = tmp_path / "two.csv"
    two.write_text("Q1,Q2\nHow do you feel?,How do you feel?\n", encoding="utf-8")
    table = read_table(two)
    table.texts = ["How do you feel?", "How do you feel?"]
    plan = plan_columns(table, inst)
    assert [plan.targets[i].question.id for i in (0, 1)] == ["mood_before", "mood_after"]
    assert plan.notes == ["questions sharing the text 'how do you feel?' matched in order: column A ('Q1') -> "
                          "mood_before, column B ('Q2') -> mood_after"]
    table.headers, table.names, table.texts = ["Q1", "Q2", "Q3"], ["Q1", "Q2", "Q3"], ["How do you feel?"] * 3
    with pytest.raises(InvalidImport) as caught:
        plan_columns(table, inst)
    assert str(caught.value) == ("two.csv:1, column C ('Q3'): the same question text as column B ('Q2') "
                                 "(mood_before, mood_after): say which question it holds in a mapping file "
                                 "(--mapping), e.g.\ncolumns:\n  Q3: mood_after   # or: drop")


def test_forms_questions_sharing_a_text_matched_in_order_and_a_third_refused(tmp_path):
    inst = parse_instrument(SHARED, "shared.yaml")
    wb = Workbook()
    ws = wb.active
    ws.append(["ID", "Start time", "Completion time", "Email", "Name", "How do you feel?", "How do you feel?"])
    ws.append([1, None, None, "anonymous", None, "tired", "rested"])
    wb.save(tmp_path / "forms.xlsx")
    table = read_table(tmp_path / "forms.xlsx")
    plan = plan_columns(table, inst)
    answers, problems, _ = check_row(inst, table, plan, Mapping(), next(iter(table.rows())))
    assert problems == [] and answers == {"mood_before": "tired", "mood_after": "rested"}
    assert plan.notes[0].startswith("questions sharing the text 'how do you feel?' matched in order")
    ws.cell(1, 8, "How do you feel?")
    wb.save(tmp_path / "forms.xlsx")
    with pytest.raises(InvalidImport) as caught:
        plan_columns(read_table(tmp_path / "forms.xlsx"), inst)
    assert str(caught.value) == (
        "forms.xlsx:1, column H ('How do you feel?'): the same question text as column G ('How do you feel?') "
        "(mood_before, mood_after): give it its own header in the file (e.g. 'How do you feel? (2)'), then say "
        "which question it holds in a mapping file (--mapping), e.g.\ncolumns:\n  'How do you feel? (2)': "
        "mood_after   # or: drop")
