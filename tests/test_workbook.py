"""The survey workbook: the paper's numbers from raw answers, Likert charts, suppression, long text."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from paper_data import paper_forms, submit, table

from exports.model import SurveyInfo
from exports.suppress import OFF, Suppression
from exports.workbook import write_workbook
from instrument import load_instrument, parse_instrument

DEPARTMENT_SURVEY = Path(__file__).resolve().parent.parent / "instruments" / "department-survey.yaml"


def _paper(tmp_path_factory, rule: Suppression) -> Any:
    inst = load_instrument(DEPARTMENT_SURVEY)
    info = SurveyInfo("post-dept", "POST survey", inst.id, inst.version, opens_on=dt.date(2022, 3, 1),
                      closes_on=dt.date(2022, 3, 31))
    path = tmp_path_factory.mktemp("paper") / "post.xlsx"
    write_workbook(path, inst, info, [submit(inst, form) for form in paper_forms()], rule, by=["interaction"])
    return load_workbook(path)


@pytest.fixture(scope="module")
def paper_workbook(tmp_path_factory) -> Any:
    """The research team's workbook: exact counts (the default of `surveykit export`)."""
    return _paper(tmp_path_factory, OFF)


@pytest.fixture(scope="module")
def shared_workbook(tmp_path_factory) -> Any:
    """The same data as a report shared outside the team (k = 5)."""
    return _paper(tmp_path_factory, Suppression())


def test_paper_counts_from_raw_answers(paper_workbook):
    wb = paper_workbook
    aware = table(wb["The POST program"], "aware")
    assert aware["rows"]["Yes"] == [66, 88.0, "66 (88.0%)"]
    assert "Shown to 75 of 75 respondents" in aware["note"]

    use = wb["Your use of the program"]
    referred = table(use, "referred_colleague")
    assert referred["rows"]["Yes"] == [30, 45.5, "30 (45.5%)"]
    assert "Shown to 66 of 75 respondents (not shown: 9)" in referred["note"]
    assert table(use, "self_referred")["rows"]["Yes"][2] == "16 (24.2%)"
    interaction = table(use, "interaction")["rows"]
    assert interaction["Yes, I have had a POST interaction"][2] == "32 (48.5%)"
    assert interaction["No peer supporter has reached out to me"][2] == "26 (39.4%)"
    assert interaction["A peer supporter reached out but I declined"][2] == "8 (12.1%)"

    view = wb["Your view of the program"]
    barriers = table(view, "barriers")
    assert barriers["header"][2] == "% of respondents"
    assert barriers["rows"]["Lack of time"] == [36, 54.5, "36 (54.5%)"]
    assert barriers["rows"]["No perceived need"][2] == "16 (24.2%)"
    assert barriers["rows"]["Privacy concerns"][2] == "12 (18.2%)"
    assert barriers["rows"]["Medical-legal concerns"] == [2, 3.0, "2 (3.0%)"]  # exact for the team
    satisfaction = table(view, "satisfaction")
    assert "answered 64, no answer 2" in satisfaction["note"] or "answered 64 (no answer 2)" in satisfaction["note"]
    assert satisfaction["rows"]["5 Very satisfied"][2] == "26 (40.6%)"
    assert satisfaction["rows"]["2 Dissatisfied"][2] == "2 (3.1%)"
    assert satisfaction["rows"]["3 Neither satisfied nor dissatisfied"][2] == "18 (28.1%)"
    assert satisfaction["rows"]["4 Satisfied"][2] == "18 (28.1%)"
    assert table(view, "recommend")["rows"]["Top two boxes (Likely or Very likely)"][2] == "55 (84.6%)"
    count = table(wb["Your POST interactions"], "interaction_count")["rows"]
    assert count["Two"][0] + count["Three or more"][0] == 18

    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Responses"] == 75
    assert summary["Instrument"].startswith("department-survey, version 1")
    assert summary["Opens"].date() == dt.date(2022, 3, 1)
    assert summary["Small-cell suppression"].startswith("off: exact counts")


def test_shared_paper_workbook_hides_small_counts(shared_workbook):
    wb = shared_workbook
    view = wb["Your view of the program"]
    assert table(view, "barriers")["rows"]["Medical-legal concerns"][2] == "<5"  # 2: hidden (k = 5)
    satisfaction = table(view, "satisfaction")
    assert satisfaction["rows"]["5 Very satisfied"][2] == "26 (40.6%)"
    # 2 dissatisfied is hidden; one more cell must go, or 64 - 26 - 18 - 18 would give it away.
    assert satisfaction["rows"]["2 Dissatisfied"][2] == "<5"
    assert satisfaction["rows"]["3 Neither satisfied nor dissatisfied"][2] == "x"
    assert satisfaction["rows"]["4 Satisfied"][2] == "18 (28.1%)"
    # Referred a colleague: 30 of the 32 who had an interaction, 0 of the others. By interaction the 2 who did
    # not are hidden, so the 30 must be too, and then the overall 30 (30 + 0 + 0) would give it back: it is
    # hidden with them (exports.joint), where the old table-by-table rule showed it; and then its "No" (36).
    referred = table(wb["Your use of the program"], "referred_colleague")["rows"]
    assert (referred["Yes"][0], referred["No"][0]) == ("x", "x")
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Small-cell suppression"].startswith("on (k = 5)")


def test_satisfaction_compared_by_interaction(shared_workbook):
    ws = shared_workbook["By interaction"]
    satisfaction = table(ws, "satisfaction")
    assert satisfaction["header"][1:4] == ("Yes, I have had a POST interaction (n=32)",
                                           "A peer supporter reached out but I declined (n=8)",
                                           "No peer supporter has reached out to me (n=24)")  # 24 answered
    ws_rows = [r for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(ws_rows) if r[0] and r[0].startswith("satisfaction: "))
    assert satisfaction["header"][4] == "No answer / not shown (n=0)"  # the 9 unaware: not asked either
    rows = {r[0]: list(r[1:3]) + list(r[3:6:2]) for r in ws_rows[start + 3: start + 9]}  # skip the n=0 column
    # 26 of 32 is 81.25%: printed half up, as journals do.
    assert rows["5 Very satisfied"] == ["26 (81.3%)", "0 (0.0%)", "0 (0.0%)", "26 (40.6%)"]
    # Small cells (3 and 3 among those who had an interaction) are hidden; the 2 dissatisfied make a row
    # whose total is below 5, hidden whole (its zeros would say which group the two are in); then every
    # row and column with a single hidden cell loses its smallest other count (x), or subtraction would
    # give the hidden one away. Unsuppressed: 4 = [3, 8, 7], 3 = [3, 0, 15], 2 = [0, 0, 2].
    assert rows["4 Satisfied"] == ["<5", "x", "x", "18 (28.1%)"]
    assert rows["3 Neither satisfied nor dissatisfied"] == ["<5", "0 (0.0%)", "x", "x"]
    assert rows["2 Dissatisfied"] == ["x", "x", "<5", "<5"]
    assert rows["Median level"] == [5, 4, 3, 4]


def test_likert_sheet_has_native_stacked_charts_over_percentages(shared_workbook):
    ws = shared_workbook["Likert"]
    charts = ws._charts
    # One per likert question; helpfulness (32 answers, every count hidden at k = 5) gets a note instead.
    assert len(charts) == 3
    for chart in charts:
        assert chart.type == "bar"
        assert chart.grouping == "stacked"  # over % of all who answered: nothing rescaled (test_chart_ranges)
        assert chart.overlap == 100
        assert len(chart.series) == 6  # five levels and the hidden share
    rows = list(ws.iter_rows(values_only=True))
    assert any(isinstance(r[0], str) and r[0].startswith("No chart: every count is hidden") for r in rows)
    recommend = rows[next(i for i, r in enumerate(rows) if r[0] == "How likely are you to recommend POST to "
                          "another department?") + 2]
    assert recommend[:13] == ("All who answered (n = 65)", 0, 0, 10, 25, 30, 65, 0, 0, 15.4, 38.5, 46.2, 0)


def test_raw_data_and_dictionary(paper_workbook):
    raw = list(paper_workbook["Raw data"].iter_rows(values_only=True))
    header = raw[0]
    assert len(raw) == 76
    assert header[:6] == ("department", "gender", "age_group", "years_in_practice", "setting", "aware")
    assert "barriers.time" in header and "barriers.other_text" in header
    col = {h: i for i, h in enumerate(header)}
    flags = [r[col["barriers.time"]] for r in raw[1:]]
    assert flags.count(1) == 36 and flags.count(0) == 30 and flags.count(None) == 9
    texts = [r[col["benefits_text"]] for r in raw[1:] if r[col["benefits_text"]]]
    assert len(texts) == 22 and all(t.endswith("\nSecond line ✓") for t in texts)
    dictionary = {r[0]: r for r in paper_workbook["Data dictionary"].iter_rows(values_only=True)}
    assert dictionary["referred_colleague"][6] == "aware is yes"
    assert dictionary["aware"][5] == "yes = Yes; no = No"
    assert dictionary["barriers.time"][5] == "1 = Lack of time chosen, 0 = not chosen"


def test_text_longer_than_an_excel_cell_is_split_not_cut(tmp_path):
    inst = parse_instrument(textwrap.dedent("""
        id: long
        version: 1
        title: Long
        sections:
          - id: s
            questions:
              - {id: story, type: text, text: Tell us, max_length: 50000}
    """).strip(), "long.yaml")
    text = "".join(chr(0x4E00 + i % 500) for i in range(40_000))
    write_workbook(tmp_path / "long.xlsx", inst, SurveyInfo("long", "Long", "long", 1), [{"story": text}])
    ws = load_workbook(tmp_path / "long.xlsx")["Raw data"]
    header, row = list(ws.iter_rows(values_only=True))
    assert header == ("story", "story#2")
    assert row[0] + row[1] == text


def test_failed_export_leaves_no_file(tmp_path):
    inst = load_instrument(Path(__file__).parent.parent / "instruments" / "department-survey.yaml")

    def broken():
        yield {"department": "em", "aware": "no"}
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_workbook(tmp_path / "x.xlsx", inst, SurveyInfo("s", "S", inst.id, 1), broken())
    assert list(tmp_path.iterdir()) == []
