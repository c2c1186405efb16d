"""The ranking question type end to end: YAML, form parsing, the respondent page, exports, imports."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from exports.columns import raw_columns, row_reader
from exports.csvout import write_csv
from exports.imports import Form, Mapping, check_row, plan_columns
from exports.model import SurveyInfo
from exports.readers import read_table
from exports.stats import RankingSummary, describe
from exports.suppress import OFF, Suppression
from exports.tables import question_tables
from exports.workbook import write_workbook
from instrument import InvalidInstrument, load_instrument, parse_instrument
from instrument.answers import condition_holds, parse_section, settle

DATA = Path(__file__).resolve().parent / "data"
PRIORITIES = load_instrument(DATA / "instruments" / "priorities.yaml")
SUPPORT = PRIORITIES.question("support")


def ranking_yaml(extra: str = "", show_if: str = "") -> str:
    return textwrap.dedent(f"""\
        id: r
        version: 1
        title: R
        sections:
          - id: s
            questions:
              - id: top
                type: ranking
                text: Rank them
                choices: [Alpha, Beta, Gamma]
        {textwrap.indent(extra, " " * 8)}
              - id: after
                type: text
                text: Why?
        {textwrap.indent(show_if, " " * 8)}
        """)


def test_ranking_reads_choices_and_defaults_max_ranks_to_their_number():
    inst = parse_instrument(ranking_yaml(), "r.yaml")
    top = inst.question("top")
    assert [o.code for o in top.choices] == ["alpha", "beta", "gamma"]
    assert top.max_ranks == 3
    limited = parse_instrument(ranking_yaml("max_ranks: 2"), "r.yaml").question("top")
    assert limited.max_ranks == 2


@pytest.mark.parametrize(("extra", "show_if", "message"), [
    ("max_ranks: 0", "", "r.yaml:11: question 'top': max_ranks must be a whole number from 1 to the number of "
                         "choices (3)"),
    ("max_ranks: 4", "", "r.yaml:11: question 'top': max_ranks must be a whole number from 1"),
    ("max_ranks: two", "", "r.yaml:11: question 'top': max_ranks must be a whole number"),
    ("other: true", "", "r.yaml:11: question 'top': unknown key 'other' in a ranking question"),
    ("", "show_if: {question: top, equals: alpha}",
     "r.yaml:15: question 'after': show_if cannot use 'equals' on the ranking question 'top' (use in, includes, "
     "answered)"),
    ("", "show_if: {question: top, includes: delta}", "r.yaml:15: question 'after': show_if value 'delta' is not "
                                                      "an option of 'top'"),
])
def test_ranking_yaml_errors_name_file_line_and_question(extra, show_if, message):
    with pytest.raises(InvalidInstrument) as caught:
        parse_instrument(ranking_yaml(extra, show_if), "r.yaml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_ranking_needs_two_choices():
    text = ranking_yaml().replace("choices: [Alpha, Beta, Gamma]", "choices: [Alpha]")
    with pytest.raises(InvalidInstrument, match=r"r.yaml:10: question 'top': a ranking needs at least two choices"):
        parse_instrument(text, "r.yaml")


def test_includes_and_in_work_on_a_ranking():
    inst = parse_instrument(ranking_yaml(show_if="show_if: {question: top, includes: [alpha, gamma]}"), "r.yaml")
    cond = inst.question("after").show_if
    assert cond is not None
    assert condition_holds(cond, {"top": ["gamma", "beta", "alpha"]})
    assert not condition_holds(cond, {"top": ["gamma", "beta"]})
    assert not condition_holds(cond, {"top": []})
    any_of = parse_instrument(ranking_yaml(show_if="show_if: {question: top, in: [beta]}"), "r.yaml")
    assert condition_holds(any_of.question("after").show_if, {"top": ["beta"]})


def form(**fields: str) -> Form:
    data = Form()
    for key, value in fields.items():
        data.add(key, value)
    return data


@pytest.mark.parametrize(("fields", "stored", "error"), [
    ({"support__rank1": "time_off", "support__rank2": "peer_support"}, ["time_off", "peer_support"], ""),
    ({"support__rank1": "training", "support__rank2": "counselling", "support__rank3": "peer_support"},
     ["training", "counselling", "peer_support"], ""),
    ({"support__rank1": "peer_support", "support__rank2": "peer_support"}, ["peer_support", "peer_support", ""],
     "Rank each option at most once."),
    ({"support__rank1": "peer_support", "support__rank3": "training"}, ["peer_support", "", "training"],
     "Fill the ranks in order from the 1st choice, leaving no gaps."),
    ({"support__rank2": "training"}, ["", "training", ""], "Fill the ranks in order from the 1st choice, leaving "
                                                           "no gaps."),
    ({"support__rank1": "holidays"}, None, "Choose among the options shown."),
    ({}, [], "Rank at least one option."),
    # A rank beyond max_ranks is not a field of the question: ignored like any unknown field.
    ({"support__rank1": "training", "support__rank4": "time_off"}, ["training"], ""),
])
def test_form_parsing_checks_duplicates_gaps_and_required(fields, stored, error):
    section = PRIORITIES.sections[1]
    answers, errors = parse_section(section, form(**fields), {"unit": "ward_a"})
    assert answers["support"] == stored
    assert errors.get("support", "") == error


def test_a_ranking_not_required_may_be_left_empty():
    inst = parse_instrument(ranking_yaml(), "r.yaml")
    answers, errors = parse_section(inst.sections[0], form(), {})
    assert errors == {} and answers == {"top": [], "after": None}
    kept, missing = settle(inst, answers)
    assert missing == {} and kept["top"] == []


RESPONSES: list[dict[str, Any]] = [
    {"unit": "ward_a", "support": ["peer_support", "counselling", "time_off"], "why_peer": "Colleagues understand"},
    {"unit": "ward_b", "support": ["counselling", "training"]},
    {"unit": "ward_b", "support": ["time_off", "peer_support"], "why_peer": "They were there"},
    {"unit": "ward_a", "support": ["counselling", "time_off", "peer_support"], "why_peer": None},
]


def test_export_columns_one_per_rank_and_the_dictionary_says_what_they_hold():
    columns = [c for c in raw_columns(PRIORITIES) if c.question.id == "support"]
    assert [c.header for c in columns] == ["support.rank1", "support.rank2", "support.rank3"]
    assert columns[1].codes() == ("option ranked 2nd: peer_support = Peer support; counselling = Counselling; "
                                  "time_off = Time off; training = Training")
    read = row_reader(raw_columns(PRIORITIES))
    assert read(RESPONSES[1]) == ["ward_b", "counselling", "training", None, None]
    assert read({"unit": "ward_a"}) == ["ward_a", None, None, None, None]  # not shown


def test_summary_counts_ranked_mean_rank_and_first():
    summary = describe(PRIORITIES, RESPONSES).total["support"]
    assert isinstance(summary, RankingSummary)
    assert (summary.shown, summary.answered) == (4, 4)
    [table] = question_tables(summary, 4, OFF)
    assert table.header == ["Option", "Ranked n", "% ranked", "Ranked n (%)", "Mean rank", "Ranked first n (%)"]
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["Peer support"] == [3, 75.0, "3 (75.0%)", 2.0, "1 (25.0%)"]
    assert rows["Counselling"] == [3, 75.0, "3 (75.0%)", 1.33, "2 (50.0%)"]
    assert rows["Time off"] == [3, 75.0, "3 (75.0%)", 2.0, "1 (25.0%)"]
    assert rows["Training"] == [1, 25.0, "1 (25.0%)", 2.0, "0 (0.0%)"]
    hidden = {r[0]: r[1:] for r in question_tables(summary, 4, Suppression())[0].rows}
    assert hidden["Counselling"] == ["<5", None, "<5", None, "<5"]  # a mean of three ranks says too much
    assert hidden["Training"][4] == "0 (0.0%)"


def test_workbook_has_the_ranking_table_and_raw_columns(tmp_path):
    path = tmp_path / "p.xlsx"
    write_workbook(path, PRIORITIES, SurveyInfo("p", "P", "priorities", 1), RESPONSES, OFF)
    wb = load_workbook(path)
    rows = list(wb["Support"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "support: Rank these kinds of support")
    assert rows[start + 2][:6] == ("Option", "Ranked n", "% ranked", "Ranked n (%)", "Mean rank",
                                   "Ranked first n (%)")
    assert rows[start + 4][:6] == ("Counselling", 3, 75, "3 (75.0%)", 1.33, "2 (50.0%)")
    raw = list(wb["Raw data"].iter_rows(values_only=True))
    assert raw[0] == ("unit", "support.rank1", "support.rank2", "support.rank3", "why_peer")
    assert raw[3] == ("ward_b", "time_off", "peer_support", None, "They were there")
    dictionary = {r[0]: r for r in wb["Data dictionary"].iter_rows(values_only=True)}
    assert dictionary["support.rank1"][3] == "ranking"


def test_qualtrics_rank_order_export_imports_with_known_results():
    table = read_table(DATA / "imports" / "qualtrics-ranking.csv")
    plan = plan_columns(table, PRIORITIES)
    keys = sorted(t.key for t in plan.targets.values() if t.kind == "choice_rank")
    assert keys == ["counselling", "peer_support", "time_off", "training"]
    results = []
    for row in table.rows():
        answers, problems, dropped = check_row(PRIORITIES, table, plan, Mapping(), row)
        results.append((answers, [str(p) for p in problems], dropped))
    assert [r[0] for r in results[:4]] == [
        {"unit": "ward_a", "support": ["peer_support", "counselling", "time_off"],
         "why_peer": "Colleagues understand"},
        {"unit": "ward_b", "support": ["counselling", "training"]},
        {"unit": "ward_b", "support": ["time_off", "peer_support"], "why_peer": "They were there"},
        {"unit": "ward_a", "support": ["counselling", "time_off", "peer_support"], "why_peer": None},
    ]
    assert results[4][0] is not None  # the Survey Preview row: left out by the importer, valid in itself
    assert results[5][1] == ["qualtrics-ranking.csv:9, column F ('Q2_1'): question 'support': Fill the ranks "
                             "in order from the 1st choice, leaving no gaps."]
    assert results[6][1] == ["qualtrics-ranking.csv:10, column G ('Q2_2'): question 'support': rank 1 is given "
                             "to both 'Peer support' and 'Counselling'"]
    assert results[7][1] == ["qualtrics-ranking.csv:11, column F ('Q2_1'): question 'support': rank 4 is beyond "
                             "the 3 this question ranks"]


def test_our_own_export_per_rank_columns_import_back(tmp_path):
    path = tmp_path / "own.csv"
    write_csv(path, PRIORITIES, RESPONSES)
    table = read_table(path)
    plan = plan_columns(table, PRIORITIES)
    assert [t.kind for t in plan.targets.values()] == ["value", "rank", "rank", "rank", "value"]
    back = [check_row(PRIORITIES, table, plan, Mapping(), row)[0] for row in table.rows()]
    assert back == RESPONSES[:3] + [{**RESPONSES[3]}]


def test_options_in_order_in_one_cell_import_as_ranks(tmp_path):
    path = tmp_path / "forms.csv"
    path.write_text("Which unit do you work in?,Rank these kinds of support\nWard A,Time off;Training\n"
                    "Ward B,Time off;Training;Counselling;Peer support\n", encoding="utf-8")
    table = read_table(path)
    plan = plan_columns(table, PRIORITIES)
    first, second = (check_row(PRIORITIES, table, plan, Mapping(), row) for row in table.rows())
    assert first[0] == {"unit": "ward_a", "support": ["time_off", "training"]}
    assert [str(p) for p in second[1]] == ["forms.csv:3, column B ('Rank these kinds of support'): question "
                                           "'support': 4 options ranked; this question ranks at most 3"]


def test_summary_sheet_explains_ranking_tables_only_when_there_are_some(tmp_path):
    def lines(inst, name: str) -> list[str]:
        path = tmp_path / name
        write_workbook(path, inst, SurveyInfo("p", "P", inst.id, 1), [])
        return [r[0] for r in load_workbook(path)["Summary"].iter_rows(values_only=True) if r[0]]

    assert any(str(line).startswith("Ranking questions:") for line in lines(PRIORITIES, "p.xlsx"))
    plain = parse_instrument(ranking_yaml().replace("type: ranking", "type: single_choice"), "r.yaml")
    assert not any(str(line).startswith("Ranking questions:") for line in lines(plain, "r.xlsx"))
