"""exports.stats, exports.tables, exports.suppress, exports.tabular, exports.columns: plain data in, plain data out."""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from exports.columns import raw_columns, row_reader
from exports.stats import describe, quantile
from exports.suppress import OFF, Suppression, hidden_cells
from exports.tables import choice_table, crosstab_tables, likert_tables, multi_table, number_table, text_table
from exports.tabular.percent import n_pct
from exports.tabular.text import csv_text, csv_unescape, looks_like_formula, xml_clean
from instrument import parse_instrument

INSTRUMENT = parse_instrument(textwrap.dedent("""
    id: tiny
    version: 1
    title: Tiny
    sections:
      - id: one
        questions:
          - {id: unit, type: single_choice, text: "Unit?", choices: [Ward A, Ward B], required: true}
          - {id: aware, type: single_choice, text: "Aware?", choices: yes_no}
          - id: used
            type: single_choice
            text: "Used it?"
            choices: yes_no
            show_if: {question: aware, equals: "yes"}
          - id: why
            type: multiple_choice
            text: "Why not?"
            choices: [Time, Need, Privacy]
            other: true
            show_if: {question: aware, equals: "yes"}
          - {id: rating, type: likert, text: Rate it, scale: agreement}
          - id: grid
            type: likert
            text: Grid
            scale: satisfaction
            items: [{id: a, text: Statement A}, {id: b, text: Statement B}]
          - {id: minutes, type: number, text: Minutes, unit: minutes}
          - {id: day, type: date, text: Day}
          - {id: note, type: text, text: Note, max_length: 70000}
""").strip(), "tiny.yaml")


def responses() -> list[dict]:
    return [
        {"unit": "ward_a", "aware": "yes", "used": "yes", "why": ["time", "privacy"], "rating": 5,
         "grid": {"a": 5, "b": 4}, "minutes": 10, "day": "2022-01-15", "note": "ok"},
        {"unit": "ward_a", "aware": "yes", "used": None, "why": ["time"], "rating": 4,
         "grid": {"a": 4, "b": None}, "minutes": 20, "day": "2022-01-20", "note": None},
        {"unit": "ward_b", "aware": "yes", "used": "no", "why": [], "rating": 2,
         "grid": {"a": 1, "b": 2}, "minutes": 60, "day": "2022-02-01", "note": "x"},
        {"unit": "ward_b", "aware": "no", "rating": None, "grid": {"a": None, "b": None}, "minutes": None,
         "day": None, "note": None},
        {"unit": "ward_b", "aware": None, "rating": 3, "grid": {"a": 3, "b": 3}, "minutes": 15.5,
         "day": "2023-03-03", "note": None},
    ]


def test_denominators_separate_not_shown_and_unanswered():
    c = describe(INSTRUMENT, responses())
    used = c.total["used"]
    assert (c.total.respondents, used.shown, used.answered, used.unanswered) == (5, 3, 2, 1)
    table = choice_table(used, 5, OFF)
    assert "Shown to 3 of 5 respondents (not shown: 2); answered 2, no answer 1" in table.note
    assert table.rows == [["Yes", 1, 33.3, "1 (33.3%)"], ["No", 1, 33.3, "1 (33.3%)"],
                          ["No answer", 1, 33.3, "1 (33.3%)"]]
    aware = c.total["aware"]
    assert (aware.shown, aware.answered) == (5, 4)


def test_multiple_choice_is_percent_of_respondents_shown():
    c = describe(INSTRUMENT, responses())
    table = multi_table(c.total["why"], 5, OFF)
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["Time"] == [2, 66.7, "2 (66.7%)"]
    assert rows["Privacy"] == [1, 33.3, "1 (33.3%)"]
    assert rows["Need"] == [0, 0.0, "0 (0.0%)"]
    assert rows["Other"] == [0, 0.0, "0 (0.0%)"]
    assert rows["No option chosen"] == [1, 33.3, "1 (33.3%)"]


def test_likert_levels_top_two_and_median():
    c = describe(INSTRUMENT, responses())
    [table] = likert_tables(c.total["rating"], OFF)
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["5 Strongly agree"] == [1, 25.0, "1 (25.0%)"]
    assert rows["1 Strongly disagree"] == [0, 0.0, "0 (0.0%)"]
    assert rows["Top two boxes (Agree or Strongly agree)"] == [2, 50.0, "2 (50.0%)"]
    assert rows["Median level"][0] == statistics.median([5, 4, 2, 3]) == 3.5
    assert "answered 4 (no answer 1)" in table.note
    grid_a, grid_b = likert_tables(c.total["grid"], OFF)
    assert grid_a.question_id == "grid.a" and "Statement A" in grid_a.title
    assert {r[0]: r[1] for r in grid_b.rows}["Median level"] == statistics.median([4, 2, 3])


def test_number_statistics_match_numpy():
    c = describe(INSTRUMENT, responses())
    values = [10, 20, 60, 15.5]
    rows = {r[0]: r[1] for r in number_table(c.total["minutes"], 5, OFF).rows}
    assert rows["Answered"] == 4
    assert rows["Mean"] == round(float(np.mean(values)), 2)
    assert rows["SD"] == round(float(np.std(values, ddof=1)), 2)
    assert rows["Median"] == float(np.median(values))
    q1, q3 = np.percentile(values, [25, 75])
    assert rows["Lower quartile (Q1)"] == round(float(q1), 2)
    assert rows["IQR (Q3 - Q1)"] == round(float(q3 - q1), 2)
    assert (rows["Minimum"], rows["Maximum"]) == (10, 60)


@pytest.mark.parametrize("q", [0, 0.1, 0.25, 0.5, 0.9, 1])
def test_quantile_is_numpy_linear(q):
    data = sorted([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    assert quantile(data, q) == pytest.approx(float(np.quantile(data, q)))


def test_dates_by_year_and_month():
    c = describe(INSTRUMENT, responses())
    s = c.total["day"]
    assert dict(s.months) == {"2022-01": 2, "2022-02": 1, "2023-03": 1}
    assert dict(s.years) == {"2022": 3, "2023": 1}


def test_text_counts_answered():
    c = describe(INSTRUMENT, responses())
    rows = {r[0]: r[1] for r in text_table(c.total["note"], 5, OFF).rows}
    assert rows == {"Answered": 2, "No answer": 3}


def test_crosstab_by_single_choice_question():
    c = describe(INSTRUMENT, responses(), by=["unit"])
    tables = {t.question_id: t for t in crosstab_tables(c.crosstabs[0], c.total, OFF)}
    aware = tables["aware"]
    assert aware.header == ["Answer", "Ward A (n=2)", "Ward B (n=3)", "Total (n=5)"]
    rows = {r[0]: r[1:] for r in aware.rows}
    assert rows["Yes"] == ["2 (100.0%)", "1 (33.3%)", "3 (60.0%)"]
    assert rows["No answer"] == ["0 (0.0%)", "1 (33.3%)", "1 (20.0%)"]
    minutes = {r[0]: r[1:] for r in tables["minutes"].rows}
    assert minutes["Mean"] == [15.0, round((60 + 15.5) / 2, 2), round(105.5 / 4, 2)]
    assert "unit" not in tables


def test_crosstab_refuses_other_types():
    with pytest.raises(ValueError, match="single-choice"):
        describe(INSTRUMENT, [], by=["minutes"])
    with pytest.raises(ValueError, match="no question 'nope'"):
        describe(INSTRUMENT, [], by=["nope"])


def test_n_pct_formats_as_the_paper():
    assert n_pct(66, 75) == "66 (88.0%)"
    assert n_pct(30, 66) == "30 (45.5%)"
    assert n_pct(36, 66) == "36 (54.5%)"
    assert n_pct(3, 0) == "3"


# Suppression ----------------------------------------------------------------------------------------------


def test_primary_suppression_hides_one_to_k_minus_one():
    rule = Suppression(k=5)
    assert [rule.hides(n) for n in (0, 1, 4, 5)] == [False, True, True, False]
    counts = {"a": 3, "b": 0, "c": 40}
    assert hidden_cells(counts, [], rule) == {"a"}
    assert hidden_cells(counts, [], OFF) == set()


def test_secondary_suppression_protects_a_lone_hidden_cell_in_a_line():
    rule = Suppression(k=5)
    counts = {"yes": 60, "no": 3, "unsure": 12, "no answer": 0}
    hidden = hidden_cells(counts, [(75, list(counts))], rule)
    # 'no' alone could be worked out as 75 - 60 - 12; the smallest other non-zero cell goes too.
    assert hidden == {"no", "unsure"}
    assert rule.mark_for(3) == "<5" and rule.mark_for(12) == "x"


def test_a_line_whose_total_is_small_is_hidden_whole():
    rule = Suppression(k=5)
    counts = {("yes", "g"): 3, ("no", "g"): 0}
    assert hidden_cells(counts, [(3, list(counts))], rule) == set(counts)


def test_suppressed_table_cells():
    c = describe(INSTRUMENT, responses())
    table = choice_table(c.total["unit"], 5, Suppression(k=3))
    assert table.rows[0][1:] == ["<3", None, "<3"]
    assert table.rows[1][1:] == ["x", None, "x"]  # else 5 - 3 gives Ward A away
    assert table.rows[2][1:] == [0, 0.0, "0 (0.0%)"]


def test_describe_states_the_audience():
    assert OFF.describe().startswith("off: exact counts, for the research team")
    assert "--shared" in OFF.describe()
    assert "k = 5" in Suppression().describe()


def test_for_audience_is_the_one_decision():
    from exports.suppress import for_audience

    assert for_audience(False, 5) == OFF
    assert for_audience(True, 7) == Suppression(k=7)


# Formula safety -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"])
def test_formula_looking_text_is_escaped_in_csv_and_round_trips(text):
    assert looks_like_formula(text)
    escaped = csv_text(text)
    assert escaped == "'" + text
    assert csv_unescape(escaped) == text


@pytest.mark.parametrize("text", ["plain", "'quoted", "''", "1 + 1", "ünïcödé ✓", ""])
def test_other_text_round_trips(text):
    assert csv_unescape(csv_text(text)) == text


def test_xml_illegal_characters_are_replaced():
    assert xml_clean("a\x00b\x1fc\td\ne") == "a\ufffdb\ufffdc\td\ne"


# Raw columns ----------------------------------------------------------------------------------------------


def test_raw_columns_are_ids_and_flags():
    headers = [c.header for c in raw_columns(INSTRUMENT)]
    assert headers == ["unit", "aware", "used", "why.time", "why.need", "why.privacy", "why.other",
                       "why.other_text", "rating", "grid.a", "grid.b", "minutes", "day", "note", "note#2", "note#3"]
    assert [c.header for c in raw_columns(INSTRUMENT, split_text=False)][-1] == "note"
    get = {c.header: c.getter() for c in raw_columns(INSTRUMENT)}
    first, _, third, fourth, _ = responses()
    assert (get["why.time"](first), get["why.need"](first), get["why.need"](fourth)) == (1, 0, None)
    assert get["why.time"](third) == 0  # shown, nothing chosen
    assert (get["grid.b"](first), get["grid.b"](fourth)) == (4, None)
    read = row_reader(raw_columns(INSTRUMENT))
    for answers in responses():
        assert read(answers) == [get(answers) for get in get.values()]
    long = {"note": "a" * 32767 + "b" * 10}
    assert get["note"](long) == "a" * 32767 and get["note#2"](long) == "b" * 10 and get["note#3"](long) is None


def test_exports_never_imports_flask_or_surveyapp():
    code = ("import sys, exports.workbook, exports.csvout, exports.reach, exports.readers, exports.tables; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'surveyapp')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_exports_imports_loads_no_web_app_nor_database():
    code = ("import sys, exports.imports; "
            "print([m for m in sys.modules if m.split('.')[0] in ('flask', 'surveyapp', 'werkzeug', 'sqlalchemy')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_plain_library_tests_need_no_app():
    tests = Path(__file__).resolve().parent
    modules = ["test_exports_stats", "test_workbook", "test_reach", "test_libreoffice", "test_ranking",
               "test_registry", "paper_data"]
    code = (f"import sys; sys.path.insert(0, {str(tests)!r}); import {', '.join(modules)}; "
            "print([m for m in sys.modules if m.split('.')[0] in ('flask', 'surveyapp')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
