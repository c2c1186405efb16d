"""`surveykit reach`: the reach workbook from stored interaction records, its suppression, its refusals."""

from __future__ import annotations

from openpyxl import load_workbook
from survey_setup import open_survey, store
from test_reach import _blocks, _cells, forms


def test_reach_command_writes_the_workbook(app, runner, tmp_path):
    open_survey(runner, "interaction-record", "post-reach", "--opens", "2019-06-01", "--closes", "2019-11-30")
    store(app, "post-reach", forms())
    out = tmp_path / "reach.xlsx"
    result = runner.invoke(args=["reach", "post-reach", "--out", str(out), "--no-suppression"])
    assert result.exit_code == 0, result.output
    assert "11 interactions (2019-06-01 to 2019-11-30)" in result.output
    assert "1 records dated outside" in result.output
    wb = load_workbook(out)
    blocks = _blocks(wb["Reach"])
    by_department = blocks["Interactions by department"]
    assert by_department["Emergency Medicine"][:3] == [6, 54.5, "6 (54.5%)"]
    assert by_department["Intensive Care Unit"][:3] == [2, 18.2, "2 (18.2%)"]
    assert by_department["Geriatrics"][:3] == [0, 0.0, "0 (0.0%)"]
    assert by_department["Total"][0] == 11
    per_month = blocks["Interactions per month"]
    assert [per_month[k][0] for k in ("Months", "Mean", "Median", "Minimum", "Maximum", "Range")] == \
        [6, 1.8, 1.5, 0, 5, "0 to 5"]
    assert blocks["Interactions per program year"][1][:5] == ["2019-06", "2019-11", 6, 11, 1.8]
    length = blocks["Length of interactions (minutes)"]
    assert [length[k][0] for k in ("n with length recorded", "Mean", "Median", "Minimum", "Maximum", "Range")] \
        == [10, 68.5, 60, 10, 180, "10 to 180"]
    months = [r[:2] for r in wb["Months"].iter_rows(values_only=True)][1:]
    assert months == [("2019-06", 3), ("2019-07", 0), ("2019-08", 5), ("2019-09", 1), ("2019-10", 0),
                      ("2019-11", 2)]
    assert len(wb["Months"]._charts) == 1
    summary = _cells(wb["Summary"])
    assert summary["Small-cell suppression"][0].startswith("off: exact counts")


def test_shared_reach_suppresses_small_department_counts(app, runner, tmp_path):
    open_survey(runner, "interaction-record", "post-reach")
    store(app, "post-reach", forms())
    out = tmp_path / "reach.xlsx"
    result = runner.invoke(args=["reach", "post-reach", "--out", str(out), "--start", "2019-06-01",
                                 "--end", "2019-11-30", "--shared"])
    assert result.exit_code == 0, result.output
    reach = _blocks(load_workbook(out)["Reach"])["Interactions by department"]
    assert reach["Emergency Medicine"][0] == 6
    assert reach["Intensive Care Unit"][:3] == ["<5", None, "<5"]
    assert reach["Obstetrics and Gynecology"][0] == "<5"


def test_reach_refuses_other_instruments(app, runner, tmp_path):
    open_survey(runner, "department-survey", "dept")
    result = runner.invoke(args=["reach", "dept", "--out", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 1
    assert "has no 'interaction_date' question" in result.output
