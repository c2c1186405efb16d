"""Report files: the paper's figures from raw answers, each in a named cell of the Results sheet, Table 1, Fig 4,
and one clear error for a bad file."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from paper_data import paper_forms, submit

from exports.model import SurveyInfo
from exports.results import collect
from exports.suppress import OFF, Suppression
from exports.workbook import write_workbook
from instrument import load_instrument
from instrument.reportfile import InvalidReport, load_report, parse_report

INSTRUMENTS = Path(__file__).resolve().parent.parent / "instruments"

# (figure, n, denominator, %) as the paper prints them; for satisfaction the paper's base is those who
# answered (the *_answered and *_pct_answered cells).
PAPER = [
    ("response_rate", 75, 255, 29.4),
    ("aware", 66, 75, 88.0),
    ("referred_colleague", 30, 66, 45.5),
    ("self_referred", 16, 66, 24.2),
    ("had_interaction", 32, 66, 48.5),
    ("never_reached", 26, 66, 39.4),
    ("declined", 8, 66, 12.1),
    ("two_or_more", 18, 32, 56.3),
    ("helpful", 31, 32, 96.9),
    ("wellbeing_improved", 27, 32, 84.4),
    ("more_comfortable", 24, 32, 75.0),
    ("accepted", 32, 40, 80.0),
    ("recommend", 55, 66, 83.3),
    ("barrier_time", 36, 66, 54.5),
    ("barrier_no_need", 16, 66, 24.2),
    ("barrier_privacy", 12, 66, 18.2),
    ("barrier_discomfort", 12, 66, 18.2),
    ("barrier_medicolegal", 2, 66, 3.0),
    ("neutral_or_negative_had", 3, 20, 15.0),
]
PAPER_OF_ANSWERED = [
    ("satisfied_very", 26, 64, 40.6),
    ("satisfied", 18, 64, 28.1),
    ("satisfied_neutral", 18, 64, 28.1),
    ("satisfied_negative", 2, 64, 3.1),
]


def named(wb: Any, name: str) -> Any:
    """Return the value of the workbook cell defined as *name*."""
    ((title, coordinate),) = list(wb.defined_names[name].destinations)
    return wb[title][coordinate.replace("$", "")].value


@pytest.fixture(scope="module")
def instrument():
    return load_instrument(INSTRUMENTS / "department-survey.yaml")


@pytest.fixture(scope="module")
def report(instrument):
    found = load_report(INSTRUMENTS, instrument)
    assert found is not None
    return found


def write(tmp_path: Path, instrument, report, rule=OFF, forms=None, invited=255) -> Any:
    info = SurveyInfo("post-dept", "POST survey", instrument.id, instrument.version, invited=invited, answered=75,
                      closes_on=dt.date(2022, 3, 31))
    path = tmp_path / "results.xlsx"
    answers = [submit(instrument, f) for f in (paper_forms() if forms is None else forms)]
    write_workbook(path, instrument, info, answers, rule, report=report)
    return load_workbook(path)


@pytest.fixture(scope="module")
def paper_results(tmp_path_factory, instrument, report):
    return write(tmp_path_factory.mktemp("results"), instrument, report)


@pytest.mark.parametrize(("figure", "n", "base", "pct"), PAPER)
def test_each_paper_figure_lands_in_its_named_cells(paper_results, figure, n, base, pct):
    wb = paper_results
    assert (named(wb, f"{figure}_n"), named(wb, f"{figure}_base"), named(wb, f"{figure}_pct")) == (n, base, pct)


@pytest.mark.parametrize(("figure", "n", "answered", "pct"), PAPER_OF_ANSWERED)
def test_figures_of_those_who_answered_have_both_denominators(paper_results, figure, n, answered, pct):
    wb = paper_results
    assert (named(wb, f"{figure}_n"), named(wb, f"{figure}_base")) == (n, 66)  # of those shown
    assert (named(wb, f"{figure}_answered"), named(wb, f"{figure}_pct_answered")) == (answered, pct)
    row = next(r for r in wb["Results"].iter_rows(values_only=True) if r[0] == figure)
    assert row[7] == "of the 66 respondents aware of the program; and of the 64 of them who answered"


def test_recommend_gives_both_denominators_and_says_which(paper_results):
    wb = paper_results
    assert (named(wb, "recommend_n"), named(wb, "recommend_base"), named(wb, "recommend_pct")) == (55, 66, 83.3)
    assert (named(wb, "recommend_answered"), named(wb, "recommend_pct_answered")) == (65, 84.6)
    assert named(wb, "recommend_sentence") == (
        "Of the 66 respondents with awareness of the program, 55 (83.3%) would recommend the program to another "
        "department. Of the 65 who answered, 55 (84.6%).")
    row = next(r for r in wb["Results"].iter_rows(values_only=True) if r[0] == "recommend")
    assert row[7] == "of the 66 respondents with awareness of the program; and of the 65 of them who answered"
    # One denominator where they agree: nothing in the second pair of cells.
    assert named(wb, "aware_answered") is None and named(wb, "aware_pct_answered") is None


def test_sentences_ready_to_paste(paper_results):
    wb = paper_results
    assert named(wb, "aware_sentence") == \
        "Of the 75 respondents, 66 (88.0%) were aware of the POST program."
    assert named(wb, "response_rate_sentence") == "Of the 255 invited, 75 (29.4%) responded to the survey."
    assert named(wb, "accepted_sentence") == ("Of the 40 respondents who had had a peer supporter reach out to "
                                              "them, 32 (80.0%) accepted the support.")


def test_the_impossible_paper_figure_is_what_the_data_give(paper_results):
    # The paper: "30 (68.2%)" of the 44 satisfied or very satisfied had had an interaction. Its own counts allow
    # at most 29: 32 had one, and 3 of those 32 are among the 20 neutral or negative.
    wb = paper_results
    assert named(wb, "neutral_or_negative_had_n") == 3
    assert (named(wb, "satisfied_had_n"), named(wb, "satisfied_had_base"), named(wb, "satisfied_had_pct")) == \
        (29, 44, 65.9)
    assert named(wb, "had_interaction_n") - named(wb, "neutral_or_negative_had_n") == 29


def test_table1_by_department_with_overall(paper_results):
    wb = paper_results
    ((title, ref),) = list(wb.defined_names["table1"].destinations)
    rows = [[c.value for c in r] for r in wb[title][ref.replace("$", "")]]
    assert rows[0] == ["Characteristic", "Obstetrics and Gynecology (n = 15)", "Emergency Medicine (n = 30)",
                       "Hospitalists (n = 12)", "Intensive Care Unit (n = 10)", "Anesthesia (n = 8)",
                       "Overall (n = 75)"]
    body = {r[0].strip(): r[1:] for r in rows[1:]}
    assert body["Woman"] == ["7 (46.7%)", "15 (50.0%)", "6 (50.0%)", "5 (50.0%)", "4 (50.0%)", "37 (49.3%)"]
    assert body["Man"] == ["8 (53.3%)", "15 (50.0%)", "6 (50.0%)", "5 (50.0%)", "4 (50.0%)", "38 (50.7%)"]
    assert body["What is your gender?"] == [None] * 6  # a question heads its options


def test_fig4_one_chart_four_scales_n_per_bar_each_bar_100(paper_results):
    wb = paper_results
    ((title, ref),) = list(wb.defined_names["fig4"].destinations)
    rows = [[c.value for c in r] for r in wb[title][ref.replace("$", "")]]
    bars = {r[0]: r for r in rows[1:]}
    labels = list(bars)
    assert labels == ["How helpful was your POST interaction? (n = 32)",
                      "POST has had a positive impact on my department. (n = 66)",
                      "How likely are you to recommend POST to another department? (n = 65)",
                      "Overall, how satisfied are you with the POST program? (n = 64)"]
    for row in rows[1:]:
        pcts = row[7:12]
        assert abs(sum(pcts) + row[12] - 100) <= 0.2, row
    assert bars[labels[0]][1:7] == [1, 0, 0, 11, 20, 32]  # counts per level, n answered
    assert bars[labels[0]][7:12] == [3.1, 0.0, 0.0, 34.4, 62.5]
    assert rows[0][1:6] == ["Level 1 of 5 (most negative)", "Level 2 of 5", "Level 3 of 5", "Level 4 of 5",
                            "Level 5 of 5 (most positive)"]  # four scales: levels line up by position
    sheet = wb["Results"]
    assert len(sheet._charts) == 1  # noqa: SLF001  (openpyxl keeps a sheet's charts there)


def test_results_chart_plots_its_percentage_cells(tmp_path, instrument, report):
    from test_chart_ranges import check_charts

    write(tmp_path, instrument, report)
    figures = check_charts(tmp_path / "results.xlsx")  # every chart: no text cell, each bar 100% of its n
    assert figures["charts"] == 5 and figures["bars"] == 4 + 4  # Results (Fig 4: 4 bars), four Likert charts


def test_without_a_report_file_the_workbook_is_unchanged(tmp_path, instrument):
    wb = write(tmp_path, instrument, None)
    assert "Results" not in wb.sheetnames and not list(wb.defined_names)


def test_shared_results_hide_small_counts(tmp_path, instrument, report):
    wb = write(tmp_path, instrument, report, rule=Suppression(5))
    assert named(wb, "aware_n") == 66
    assert (named(wb, "barrier_medicolegal_n"), named(wb, "barrier_medicolegal_pct")) == ("<5", None)
    assert "66 respondents aware of the program, <5 (% not shown: small counts) named medical-legal concerns " \
        "as a barrier." in named(wb, "barrier_medicolegal_sentence")


def test_counts_without_a_workbook(instrument, report):
    results = collect(report, instrument, [submit(instrument, f) for f in paper_forms()]).results(None, OFF)
    rate = next(f for f in results.figures if f.figure.id == "response_rate")
    assert rate.pct is None and "not known" in rate.sentence


@pytest.mark.parametrize(("text", "message"), [
    ("figures: [{id: x, text: t, count: {question: nope, equals: a}}]",
     "x.report.yaml:1: show_if refers to 'nope', which is not a question of 'department-survey'"),
    ("figures:\n  - id: x\n    text: t\n    count: {question: aware, equals: maybe}\n",
     "x.report.yaml:4: show_if value 'maybe' is not an option of 'aware'"),
    ("figures:\n  - {id: Bad-Name, text: t, count: {question: aware, equals: 'yes'}}\n",
     "x.report.yaml:2: id 'Bad-Name': use up to 40 lower-case letters"),
    ("figures:\n  - {id: a, text: t, count: {question: aware, equals: 'yes'}}\n"
     "  - {id: a, text: t, count: {question: aware, equals: 'no'}}\n", "x.report.yaml:3: id 'a' is used already"),
    ("tables:\n  - {id: t, rows: [benefits_text], by: department}\n",
     "x.report.yaml:2: 'benefits_text' is a text question; 'rows' takes single_choice or multiple_choice"),
    ("charts:\n  - {id: c, title: C, questions: [helpfulness, aware]}\n", "'aware' is a single_choice question"),
    ("figures: [{id: x, text: t}]\n", "x.report.yaml:1: figure 'x' needs 'count'"),
    ("instrument: other\nfigures: []\n", "x.report.yaml:1: this report file is for 'other'"),
    ("figures: [\n", "x.report.yaml:2: not valid YAML"),
    ("tables:\n  - id: t\n    rows: [gender]\n    by: department\n    merge: {Anesthesia/ICU: [anesthesia, nope]}\n",
     "x.report.yaml:5: merge 'Anesthesia/ICU': list two or more options of 'department'"),
])
def test_a_bad_report_file_is_one_error_naming_file_and_line(instrument, text, message):
    with pytest.raises(InvalidReport) as caught:
        parse_report(text, "instruments/x.report.yaml", instrument)
    assert message in str(caught.value)
    assert str(caught.value).startswith("instruments/x.report.yaml:")


def test_merged_columns(instrument, tmp_path):
    report = parse_report("tables:\n  - id: t\n    rows: [gender]\n    by: department\n"
                          "    merge: {Anesthesia/ICU: [icu, anesthesia]}\n", "r.report.yaml", instrument)
    results = collect(report, instrument, [submit(instrument, f) for f in paper_forms()]).results(None, OFF)
    header = results.tables[0].header
    assert header[1:] == ["Obstetrics and Gynecology (n = 15)", "Emergency Medicine (n = 30)",
                          "Hospitalists (n = 12)", "Anesthesia/ICU (n = 18)", "Overall (n = 75)"]


def test_cli_export_uses_the_report_file_and_refuses_a_bad_one(database_url, tmp_path):
    from survey_setup import export, open_survey, store

    from conftest import make_test_app

    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    try:
        runner = app.test_cli_runner()
        open_survey(runner, "department-survey", "paper")
        store(app, "paper", paper_forms())
        wb = load_workbook(export(runner, "paper", tmp_path / "ok.xlsx"))
        assert wb.sheetnames[:2] == ["Summary", "Results"] and named(wb, "aware_pct") == 88.0
        (folder / "department-survey.report.yaml").write_text("figures: [{id: x, text: t, count: {question: "
                                                              "aware, equals: maybe}}]\n", encoding="utf-8")
        bad = runner.invoke(args=["export", "paper", "--out", str(tmp_path / "bad.xlsx")])
        assert bad.exit_code == 1 and "department-survey.report.yaml:1: show_if value 'maybe'" in bad.output
        assert "Traceback" not in bad.output and not (tmp_path / "bad.xlsx").exists()
        check = runner.invoke(args=["instruments", "check", str(folder)])
        assert check.exit_code == 1 and "1 report file(s) have errors" in check.output
    finally:
        app.extensions["surveykit.engine"].dispose()


def test_download_with_a_bad_report_file_is_422_not_500(database_url, tmp_path):
    from survey_setup import open_survey, store

    from surveyapp.auth.models import create_user
    from surveyapp.db import new_session

    from conftest import csrf_from, make_test_app

    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    try:
        open_survey(app.test_cli_runner(), "department-survey", "paper")
        store(app, "paper", paper_forms())
        with app.app_context(), new_session() as s:
            create_user(s, "lead@example.org", "investigator passphrase", "Lead")
            s.commit()
        client = app.test_client()
        page = client.get("/auth/login")
        client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": "lead@example.org",
                                         "password": "investigator passphrase"})
        with client.get("/admin/surveys/paper/export.xlsx") as good:
            assert good.status_code == 200
            assert "Results" in load_workbook(io.BytesIO(good.get_data())).sheetnames
        (folder / "department-survey.report.yaml").write_text("figures: [{id: x, text: t}]\n", encoding="utf-8")
        with client.get("/admin/surveys/paper/export.xlsx") as bad:
            assert bad.status_code == 422
            assert "department-survey.report.yaml:1: figure &#39;x&#39; needs &#39;count&#39;" in bad.text
        with client.get("/admin/surveys/paper/export.xlsx?shared=1") as shared:
            assert shared.status_code == 200  # the shared report has no Results sheet, so no report file
    finally:
        app.extensions["surveykit.engine"].dispose()


def test_records_figures_with_a_merged_category(tmp_path):
    # The paper: 306 records; Emergency Medicine 213 (69.6%), Anesthesia/ICU 49 (16%), Hospitalists 22 (7.2%).
    records = load_instrument(INSTRUMENTS / "interaction-record.yaml")
    report = load_report(INSTRUMENTS, records)
    assert report is not None
    departments = ["em"] * 213 + ["anesthesia"] * 27 + ["icu"] * 22 + ["hospitalists"] * 22 + ["obgyn"] * 12 + \
        ["geriatrics"] * 10
    forms = [{"interaction_date": "2020-01-15", "department": d, "contact": "first"} for d in departments]
    info = SurveyInfo("reach", "Records", records.id, records.version)
    path = tmp_path / "records.xlsx"
    write_workbook(path, records, info, [submit(records, f) for f in forms], OFF, report=report)
    wb = load_workbook(path)
    assert [named(wb, f"records_em_{s}") for s in ("n", "base", "pct")] == [213, 306, 69.6]
    assert [named(wb, f"records_anesthesia_icu_{s}") for s in ("n", "base", "pct")] == [49, 306, 16.0]
    assert [named(wb, f"records_hospitalists_{s}") for s in ("n", "base", "pct")] == [22, 306, 7.2]


def test_training_figures_and_fig3_one_bar_per_statement(tmp_path):
    # The paper: 37 of 38 answered (97%); 100% good or excellent; 100% agreed on the framework; 32 (86.5%) rated
    # the virtual platform positively; Fig 3: confidence per component, n = 37.
    training = load_instrument(INSTRUMENTS / "supporter-training.yaml")
    report = load_report(INSTRUMENTS, training)
    assert report is not None
    items = [i.id for i in training.question("confidence").items]
    forms = [{"overall_rating": "5" if i < 25 else "4" if i < 33 else "3",
              "framework": "5" if i < 20 else "4",
              "virtual_platform": "4" if i < 32 else "2",
              **{f"confidence__{item}": "5" if (i + k) % 3 else "4" for k, item in enumerate(items)}}
             for i in range(37)]
    info = SurveyInfo("training", "Training", training.id, training.version, invited=38, answered=37)
    path = tmp_path / "training.xlsx"
    write_workbook(path, training, info, [submit(training, f) for f in forms], OFF, report=report)
    wb = load_workbook(path)
    assert [named(wb, f"response_rate_{s}") for s in ("n", "base", "pct")] == [37, 38, 97.4]
    assert [named(wb, f"good_or_excellent_{s}") for s in ("n", "base", "pct")] == [37, 37, 100.0]
    assert [named(wb, f"framework_agreed_{s}") for s in ("n", "base", "pct")] == [37, 37, 100.0]
    assert [named(wb, f"virtual_positive_{s}") for s in ("n", "base", "pct")] == [32, 37, 86.5]
    ((title, ref),) = list(wb.defined_names["fig3"].destinations)
    rows = [[c.value for c in r] for r in wb[title][ref.replace("$", "")]]
    assert len(rows) == 1 + len(items) and all(r[0].endswith("(n = 37)") for r in rows[1:])
    assert rows[1][0] == "After the training, I feel confident in understanding my role as a peer supporter (n = 37)"
    assert rows[0][1:6] == ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
