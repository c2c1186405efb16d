"""SPSS (.sav) and Stata (.dta) files: written, read back with pyreadstat, labels and both missing codes intact."""

from __future__ import annotations

from pathlib import Path

import pyreadstat
import pytest
from paper_data import paper_forms, submit
from survey_setup import open_survey, store

from exports.statfiles import variable_name, write_statfile
from instrument import load_instrument, parse_instrument

DEPARTMENT = load_instrument(Path(__file__).parent.parent / "instruments" / "department-survey.yaml")
BARRIER = "What might keep you from accepting POST peer support? Choose all that apply."


def paper_answers() -> list[dict]:
    return [submit(DEPARTMENT, form) for form in paper_forms()]


def test_sav_labels_and_user_missing_codes(tmp_path):
    path = tmp_path / "post.sav"
    assert write_statfile(path, DEPARTMENT, paper_answers(), "sav") == 75
    data, meta = pyreadstat.read_sav(path, user_missing=True)
    assert len(data) == 75
    assert meta.column_names_to_labels["aware"] == DEPARTMENT.question("aware").text
    assert meta.column_names_to_labels["barriers_discomfort"] == (
        f"{BARRIER} - Not comfortable talking about emotions with colleagues")
    assert meta.variable_value_labels["department"] == {
        1.0: "Obstetrics and Gynecology", 2.0: "Emergency Medicine", 3.0: "Hospitalists", 4.0: "Intensive Care Unit",
        5.0: "Anesthesia", -8.0: "Not shown", -9.0: "Shown, not answered"}
    assert meta.variable_value_labels["satisfaction"][5.0] == "Very satisfied"
    for name in ("satisfaction", "barriers_time", "gender"):
        assert meta.missing_ranges[name] == [{"lo": -8.0, "hi": -8.0}, {"lo": -9.0, "hi": -9.0}]
    counts = data["satisfaction"].value_counts().to_dict()
    # The paper's n = 64 answered; 2 aware left it empty (shown, not answered); 9 unaware were not shown it.
    assert counts == {5.0: 26, 4.0: 18, 3.0: 18, 2.0: 2, -9.0: 2, -8.0: 9}
    # Multiple choice: one 0/1 variable per option; "not shown" only for the 9 unaware.
    assert data["barriers_discomfort"].value_counts().to_dict() == {0.0: 54, 1.0: 12, -8.0: 9}
    assert data["barriers_time"].value_counts().to_dict() == {1.0: 36, 0.0: 30, -8.0: 9}
    # Read as SPSS users see it: both codes are missing.
    plain, _ = pyreadstat.read_sav(path)
    assert plain["satisfaction"].notna().sum() == 64 and plain["barriers_time"].notna().sum() == 66
    assert data["benefits_text"].iloc[0].startswith("Respondent 0 says")


def test_dta_labels_and_extended_missing(tmp_path):
    path = tmp_path / "post.dta"
    assert write_statfile(path, DEPARTMENT, paper_answers(), "dta") == 75
    data, meta = pyreadstat.read_dta(path, user_missing=True)
    assert meta.column_names_to_labels["aware"] == DEPARTMENT.question("aware").text
    assert meta.variable_value_labels["interaction"] == {
        1: "Yes, I have had a POST interaction", 2: "A peer supporter reached out but I declined",
        3: "No peer supporter has reached out to me", "a": "Not shown", "b": "Shown, not answered"}
    counts = data["satisfaction"].value_counts().to_dict()
    assert counts == {5: 26, 4: 18, 3: 18, 2: 2, "b": 2, "a": 9}
    assert data["barriers_discomfort"].value_counts().to_dict() == {0: 54, 1: 12, "a": 9}
    assert sorted(meta.missing_user_values["satisfaction"]) == ["a", "b"]
    plain, _ = pyreadstat.read_dta(path)
    assert plain["satisfaction"].notna().sum() == 64


DATES = """
id: dates
version: 1
title: Dates
sections:
  - id: s
    questions:
      - {id: asked, type: single_choice, text: "Asked?", choices: yes_no, required: true}
      - {id: when, type: date, text: "When?", show_if: {question: asked, equals: "yes"}}
      - {id: level, type: number, text: "How far below zero?", min: -50, show_if: {question: asked, equals: "yes"}}
      - {id: order, type: ranking, text: Rank them, choices: [Red, Blue, Green], max_ranks: 2}
"""


def test_dates_numbers_reaching_the_codes_and_ranks(tmp_path):
    inst = parse_instrument(DATES, "dates.yaml")
    answers = [{"asked": "yes", "when": "2022-03-14", "level": -12, "order": ["blue", "red"]},
               {"asked": "yes", "when": None, "level": None, "order": ["green"]},
               {"asked": "no", "order": None}]
    write_statfile(tmp_path / "d.sav", inst, answers, "sav")
    data, meta = pyreadstat.read_sav(tmp_path / "d.sav", user_missing=True)
    # A number whose answers reach -8 gets two codes below its lowest answer.
    assert data["level"].tolist() == [-12.0, -14.0, -13.0]
    assert meta.variable_value_labels["level"] == {-13.0: "Not shown", -14.0: "Shown, not answered"}
    assert data["order_rank1"].tolist() == [2.0, 3.0, -9.0] and data["order_rank2"].tolist() == [1.0, -9.0, -9.0]
    assert str(data["when"].iloc[0]) == "2022-03-14"
    write_statfile(tmp_path / "d.dta", inst, answers, "dta")
    data, _ = pyreadstat.read_dta(tmp_path / "d.dta", user_missing=True)
    assert data["level"].tolist() == [-12, "b", "a"]
    assert str(data["when"].iloc[0]) == "2022-03-14" and data["when"].tolist()[1:] == ["b", "a"]


def test_variable_names_both_programs_accept():
    taken: set[str] = set()
    assert variable_name("barriers.time", taken) == "barriers_time"
    assert variable_name("barriers_time", taken) == "barriers_time_2"
    assert variable_name("to", taken) == "to_"
    assert variable_name("2nd#2", taken) == "v_2nd_2"
    assert len(variable_name("x" * 80, taken)) == 32


@pytest.mark.parametrize("suffix", ["sav", "dta"])
def test_export_command_writes_by_suffix_and_refuses_unknown_ones(app, runner, tmp_path, suffix):
    open_survey(runner, "department-survey", "post-dept")
    store(app, "post-dept", paper_forms())
    out = tmp_path / f"post.{suffix}"
    result = runner.invoke(args=["export", "post-dept", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote 75 responses to {out}" in result.output
    read = pyreadstat.read_sav if suffix == "sav" else pyreadstat.read_dta
    data, meta = read(out)
    assert len(data) == 75 and meta.file_label
    assert out.read_bytes()[:4] != b"PK\x03\x04"  # not a zip: not an Excel file under another name

    unknown = tmp_path / "post.sas7bdat"
    refused = runner.invoke(args=["export", "post-dept", "--out", str(unknown)])
    assert refused.exit_code == 1
    assert "--out post.sas7bdat: '.sas7bdat' is not a file type this command writes (.xlsx, .csv, .sav, .dta)" \
        in refused.output
    assert not unknown.exists()
    clash = runner.invoke(args=["export", "post-dept", "--out", str(out), "--format", "xlsx"])
    assert clash.exit_code == 1 and "give the file a .xlsx name" in clash.output
