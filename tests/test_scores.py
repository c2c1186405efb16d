"""Scored scales: reverse keying, the missing-item rule, rescaling, cut-offs, wrong definitions, exports."""

from __future__ import annotations

import csv
import datetime as dt
import random
import statistics
from pathlib import Path

import pytest
from openpyxl import load_workbook
from paper_data import table

from exports.csvout import write_csv
from exports.model import SurveyInfo
from exports.suppress import OFF, Suppression
from exports.workbook import write_workbook
from instrument import InvalidInstrument, load_instrument, parse_instrument, score_value

from conftest import INSTRUMENTS

SIX = """\
id: scored
version: 1
title: Scored
scales:
  five: [A, B, C, D, E]
sections:
  - id: s
    questions:
      - id: m
        type: likert
        scale: five
        text: Statements
        items:
          - {id: a, text: A}
          - {id: b, text: B}
          - {id: c, text: C}
          - {id: d, text: D}
          - {id: e, text: E}
          - {id: f, text: F}
      - id: hours
        type: number
        min: 0
        max: 4
        text: Hours
      - id: note
        type: text
        text: Note
scores:
  - id: total
    label: Total
    items: [m]
    reverse: [m.b]
    max_missing: 1
    cutoffs:
      - {label: high, at_least: 4}
"""


def inst(text: str = SIX):
    return parse_instrument(text, "instruments/x.yaml")


def matrix(**levels):
    return {"m": {i: levels.get(i) for i in "abcdef"}}


def test_reverse_keyed_item_counts_high_plus_low_minus_value():
    score = inst().scores[0]
    # b is reverse-keyed on 1..5: an answer of 1 counts as 5, 5 as 1.
    assert score_value(score, matrix(a=5, b=1, c=5, d=5, e=5, f=5)) == 5.0
    assert score_value(score, matrix(a=5, b=5, c=5, d=5, e=5, f=5)) == pytest.approx(26 / 6)
    # control: without reverse keying the same answers give the plain mean
    plain = inst(SIX.replace("    reverse: [m.b]\n", "")).scores[0]
    assert score_value(plain, matrix(a=5, b=1, c=5, d=5, e=5, f=5)) == pytest.approx(26 / 6)


def test_one_missing_item_of_six_is_the_mean_of_the_rest_two_are_no_score():
    score = inst().scores[0]
    assert score_value(score, matrix(a=2, b=4, c=2, d=2, e=2, f=None)) == 2.0  # b reversed: 4 -> 2
    assert score_value(score, matrix(a=2, b=4, c=2, d=2, e=None, f=None)) is None
    assert score_value(score, {}) is None  # not shown at all
    assert score_value(score, {"m": None}) is None
    strict = inst(SIX.replace("max_missing: 1", "max_missing: 0")).scores[0]
    assert score_value(strict, matrix(a=2, b=4, c=2, d=2, e=2, f=None)) is None


def test_a_sum_with_a_missing_item_is_prorated():
    score = inst(SIX.replace("label: Total\n", "label: Total\n    method: sum\n")
                 .replace("at_least: 4", "at_least: 20")).scores[0]
    assert score.range == (6, 30)
    assert score_value(score, matrix(a=1, b=5, c=1, d=1, e=1, f=1)) == 6.0
    assert score_value(score, matrix(a=3, b=3, c=3, d=3, e=3, f=None)) == 18.0  # 5 items of 3, times 6


def test_lowest_and_rescaling():
    text = SIX.replace("    max_missing: 1\n", "    max_missing: 1\n    lowest: 0\n    rescale: [0, 100]\n") \
        .replace("at_least: 4", "at_least: 75")
    score = inst(text).scores[0]
    assert score.natural_range == (0, 4) and score.range == (0, 100)
    assert score_value(score, matrix(a=1, b=5, c=1, d=1, e=1, f=1)) == 0.0  # every item at its lowest
    assert score_value(score, matrix(a=3, b=3, c=3, d=3, e=3, f=3)) == 50.0  # level 3 counts 2 of 0..4
    assert score_value(score, matrix(a=5, b=1, c=5, d=5, e=5, f=5)) == 100.0
    reversed_scale = inst(text.replace("rescale: [0, 100]", "rescale: [10, 0]")
                          .replace("at_least: 75", "at_least: 5")).scores[0]
    assert score_value(reversed_scale, matrix(a=5, b=1, c=5, d=5, e=5, f=5)) == 0.0


@pytest.mark.parametrize(("op", "value", "meets"), [
    ("at_least", 1.3, [False, True, True]), ("above", 1.4, [False, False, True]),
    ("at_most", 1.4, [True, True, False]), ("below", 1.4, [True, False, False]),
])
def test_cutoffs_at_their_boundary(op, value, meets):
    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    burnout = next(s for s in pfi.scores if s.id == "burnout")
    cut = burnout.cutoffs[0]
    assert (cut.label, cut.op, cut.value) == ("burned out", "at_least", 1.33)
    from instrument import Cutoff

    mine = Cutoff("x", op, value)
    assert [mine.met(v) for v in (1.2, 1.4 if op != "at_least" else 1.3, 1.5)] == meets


def test_burnout_cutoff_on_pfi_answers():
    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    burnout = next(s for s in pfi.scores if s.id == "burnout")

    def answers(total: int) -> dict:
        # ten items scored 0..4 (levels 1..5): spread *total* points over them
        points = [total // 10 + (1 if i < total % 10 else 0) for i in range(10)]
        return {"we": {f"we{i + 1}": points[i] + 1 for i in range(4)},
                "idg": {f"id{i + 1}": points[i + 4] + 1 for i in range(6)}}

    assert score_value(burnout, answers(13)) == pytest.approx(1.3)
    assert not burnout.cutoffs[0].met(score_value(burnout, answers(13)))
    assert burnout.cutoffs[0].met(score_value(burnout, answers(14)))


def test_pfi_has_the_published_structure():
    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    sizes = {s.id: len(s.items) for s in pfi.scores}
    assert sizes == {"fulfillment": 6, "exhaustion": 4, "disengagement": 6, "burnout": 10}
    assert sum(len(q.items) for q in pfi.questions) == 16
    assert all(s.range == (0, 4) for s in pfi.scores)
    burnout = {i.ref for i in next(s for s in pfi.scores if s.id == "burnout").items}
    parts = {i.ref for s in pfi.scores if s.id in ("exhaustion", "disengagement") for i in s.items}
    assert burnout == parts
    assert [c.describe() for s in pfi.scores for c in s.cutoffs] == [
        "professionally fulfilled (score >= 3)", "burned out (score >= 1.33)"]
    assert all("placeholder" in i.text for q in pfi.questions for i in q.items)


def _line(text: str, needle: str) -> int:
    """Return the number of the last line holding *needle* (the scores come after the questions)."""
    return [i for i, line in enumerate(text.splitlines(), start=1) if needle in line][-1]


WRONG = [
    ("    items: [m]", "    items: [m, nope]", "items: [", "score 'total': unknown item 'nope': no question 'nope'"),
    ("    items: [m]", "    items: [m.z]", "items: [", "the likert question 'm' has no statement 'z'"),
    ("    items: [m]", "    items: [m, note]", "items: [", "item 'note' is a text question; a score takes likert"),
    ("    items: [m]", "    items: [m, hours]", "items: [", "different ranges (m.a 1-5"),
    ("    reverse: [m.b]", "    reverse: [hours]", "reverse:", "reverse-keyed item 'hours' is not one of its items"),
    ("max_missing: 1", "max_missing: 6", "max_missing:", "max_missing 6 of 6 items would give a score from no"),
    ("max_missing: 1", "max_missing: -1", "max_missing:", "max_missing must be a whole number"),
    ("at_least: 4", "at_least: 7", "at_least: 7", "cut-off 'high' at 7 lies outside the score's range 1 to 5"),
    ("{label: high, at_least: 4}", "{label: high, at_least: 4, below: 2}", "label: high",
     "cut-off 'high' needs exactly one of"),
    ("    label: Total", "    label: Total\n    method: median", "method:", "method 'median' must be mean or sum"),
    ("  - id: total", "  - id: hours", "- id: hours", "score 'hours': the id is already used by a question"),
    ("    label: Total", "    label: Total\n    weights: [1]", "weights:", "unknown key 'weights' in score 'total'"),
    ("    label: Total", "    label: Total\n    rescale: [5, 5]", "rescale:", "rescale must be two different"),
]


@pytest.mark.parametrize(("old", "new", "where", "message"), WRONG)
def test_wrong_score_definitions_name_file_and_line(old, new, where, message):
    assert old in SIX
    text = SIX.replace(old, new, 1)
    with pytest.raises(InvalidInstrument) as info:
        parse_instrument(text, "instruments/x.yaml")
    assert str(info.value).startswith(f"instruments/x.yaml:{_line(text, where)}: "), str(info.value)
    assert message in str(info.value)


def test_a_number_item_needs_its_range():
    text = SIX.replace("        min: 0\n        max: 4\n", "").replace("    items: [m]", "    items: [hours]") \
        .replace("    reverse: [m.b]\n", "").replace("max_missing: 1", "max_missing: 0")
    with pytest.raises(InvalidInstrument, match=r"x.yaml:\d+: score 'total': the number question 'hours' needs min"):
        parse_instrument(text, "instruments/x.yaml")
    ranged = inst(SIX.replace("    items: [m]", "    items: [hours]").replace("    reverse: [m.b]\n", "")
                  .replace("max_missing: 1", "max_missing: 0")).scores[0]
    assert score_value(ranged, {"hours": 3}) == 3.0 and score_value(ranged, {"hours": None}) is None


def test_instruments_check_reports_a_wrong_score_with_file_and_line(runner, tmp_path: Path):
    broken = tmp_path / "pfi.yaml"
    text = (INSTRUMENTS / "pfi.yaml").read_text().replace("items: [we, idg]", "items: [we, idg, pf9]")
    broken.write_text(text)
    result = runner.invoke(args=["instruments", "check", str(broken)])
    assert result.exit_code == 1
    assert f"pfi.yaml:{_line(text, 'pf9')}: score 'burnout': unknown item 'pf9'" in result.output
    good = runner.invoke(args=["instruments", "check", str(INSTRUMENTS / "pfi.yaml")])
    assert good.exit_code == 0, good.output


def _pfi_responses(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        answers = {"pf": {f"pf{i}": rng.randint(1, 5) for i in range(1, 7)},
                   "we": {f"we{i}": rng.randint(1, 5) for i in range(1, 5)},
                   "idg": {f"id{i}": rng.randint(1, 5) for i in range(1, 7)}}
        if k % 5 == 0:
            answers["idg"]["id1"] = answers["idg"]["id2"] = None  # disengagement: 2 of 6 missing -> no score
        out.append(answers)
    return out


def test_scores_in_the_csv_and_the_workbook(tmp_path: Path):
    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    responses = _pfi_responses(40)
    path = tmp_path / "pfi.csv"
    write_csv(path, pfi, responses)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[-4:] == ["fulfillment", "exhaustion", "disengagement", "burnout"]
    expected = [statistics.fmean(v - 1 for v in r["idg"].values()) if r["idg"]["id1"] is not None else None
                for r in responses]
    got = [float(row["disengagement"]) if row["disengagement"] else None for row in rows]
    assert got == pytest.approx(expected)

    book = tmp_path / "pfi.xlsx"
    info = SurveyInfo("pfi", "PFI", pfi.id, pfi.version, exported_on=dt.date(2026, 1, 1))
    write_workbook(book, pfi, info, responses, rule=OFF)  # suppression: the next test
    wb = load_workbook(book)
    assert "Scores" in wb.sheetnames
    scored = [v for v in expected if v is not None]
    dis = table(wb["Scores"], "disengagement")
    assert dis["rows"]["n scored"][0] == len(scored) == 32
    assert dis["rows"]["n missing"][0] == 8
    assert dis["rows"]["Mean (SD)"][2] == f"{statistics.fmean(scored):.2f} ({statistics.stdev(scored):.2f})"
    assert dis["rows"]["Median"][0] == round(statistics.median(scored), 2)
    burn = [s for s in (score_value(pfi.scores[3], r) for r in responses) if s is not None]
    met = sum(1 for s in burn if s >= 1.33)
    assert table(wb["Scores"], "burnout")["rows"]["burned out (score >= 1.33)"][0] == met
    headers = [c.value for c in next(wb["Data dictionary"].iter_rows(min_row=1, max_row=1))]
    dictionary = {r[0]: dict(zip(headers, r, strict=False)) for r in wb["Data dictionary"].iter_rows(values_only=True)}
    assert dictionary["burnout"]["Type"] == "score" and "mean of 10 items" in dictionary["burnout"]["Values"]


def test_few_scores_are_suppressed_and_shown_without_the_rule(tmp_path: Path):
    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    info = SurveyInfo("pfi", "PFI", pfi.id, pfi.version, exported_on=dt.date(2026, 1, 1))
    book = tmp_path / "few.xlsx"
    write_workbook(book, pfi, info, _pfi_responses(3), rule=Suppression(k=5))
    rows = table(load_workbook(book)["Scores"], "burnout")["rows"]
    assert rows["n scored"][0] == "<5" and "Mean (SD)" not in rows
    write_workbook(book, pfi, info, _pfi_responses(3), rule=OFF)
    assert "Mean (SD)" in table(load_workbook(book)["Scores"], "burnout")["rows"]


def test_exported_scores_round_trip_through_import(app, runner, tmp_path: Path):
    from survey_setup import open_survey

    from surveyapp.db import new_session
    from surveyapp.models import Response

    def stored(slug: str) -> list[dict]:
        from sqlalchemy import select

        with app.app_context(), new_session() as session:
            return sorted((r.answers for r in session.scalars(select(Response).where(Response.survey_slug == slug))),
                          key=repr)

    open_survey(runner, "pfi", "pfi-a")
    rows = tmp_path / "answers.csv"
    responses = _pfi_responses(6)
    write_csv(rows, load_instrument(INSTRUMENTS / "pfi.yaml"), responses)
    first = runner.invoke(args=["import", "pfi-a", str(rows)])
    assert first.exit_code == 0, first.output
    assert ("dropped columns (a score of the instrument, computed again from its items): 'fulfillment', "
            "'exhaustion', 'disengagement', 'burnout'") in first.output
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "pfi-a", "--out", str(out)]).exit_code == 0
    open_survey(runner, "pfi", "pfi-b")
    again = runner.invoke(args=["import", "pfi-b", str(out)])
    assert again.exit_code == 0, again.output
    assert stored("pfi-b") == stored("pfi-a") and len(stored("pfi-a")) == 6


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_scores_in_spss_and_stata_files(tmp_path: Path, fmt):
    import pyreadstat

    from exports.statfiles import write_statfile

    pfi = load_instrument(INSTRUMENTS / "pfi.yaml")
    responses = [*_pfi_responses(5), {}]  # the last: nothing shown
    path = tmp_path / f"pfi.{fmt}"
    write_statfile(path, pfi, responses, fmt)
    read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    frame, meta = read(str(path), user_missing=True)
    expected = [score_value(pfi.scores[2], r) for r in responses]
    assert expected[0] is None and expected[1] is not None  # disengagement: response 0 has 2 of 6 items missing
    got = list(frame["disengagement"])
    assert got[1:5] == pytest.approx(expected[1:5])
    if fmt == "sav":
        assert got[0] == -9 and got[5] == -8
        assert meta.variable_value_labels["disengagement"][-9.0] == "Shown, not answered"
    else:
        assert (got[0], got[5]) == ("b", "a")
    assert meta.column_names_to_labels["burnout"] == "Overall burnout"


def test_scores_by_group_on_the_crosstab_sheet(tmp_path: Path):
    text = SIX.replace('''sections:
  - id: s
    questions:
''', '''sections:
  - id: s
    questions:
      - id: dept
        type: single_choice
        text: Department
        choices: [Emergency, Surgery]
''')
    scored = inst(text)
    answers = [{"dept": "emergency", **matrix(a=v, b=6 - v, c=v, d=v, e=v, f=v)} for v in (1, 2, 3, 4, 5, 5)]
    answers += [{"dept": "surgery", **matrix(a=4, b=2, c=4, d=4, e=4, f=4)} for _ in range(3)]
    answers.append({"dept": "surgery", **matrix(a=4)})  # 5 of 6 missing: not scored
    book = tmp_path / "by.xlsx"
    info = SurveyInfo("s", "S", scored.id, scored.version, exported_on=dt.date(2026, 1, 1))
    write_workbook(book, scored, info, answers, rule=Suppression(k=5), by=["dept"])
    sheet = load_workbook(book)["By dept"]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "total: Total (score) by dept")
    assert rows[start + 2][:6] == ("Group", "n scored", "n missing", "Mean (SD)", "Median", "high (score >= 4)")
    emergency, surgery, total = rows[start + 3:start + 6]
    values = [1, 2, 3, 4, 5, 5]  # b reversed: every item of a response equals v
    assert emergency[:5] == ("Emergency", 6, 0, f"{statistics.fmean(values):.2f} ({statistics.stdev(values):.2f})",
                             3.5)
    assert emergency[5] == "<5"  # 3 of 6 at or above the cut-off
    assert surgery[:5] == ("Surgery", "<5", 1, None, None)  # 3 scored: hidden
    all_values = [*values, 4, 4, 4]
    assert total[:4] == ("Total", 9, 1, f"{statistics.fmean(all_values):.2f} ({statistics.stdev(all_values):.2f})")
    assert total[5] == "x"  # 6 of 9: the 3 below would follow from it
    write_workbook(book, scored, info, answers, rule=OFF, by=["dept"])
    rows = list(load_workbook(book)["By dept"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "total: Total (score) by dept")
    assert [r[5] for r in rows[start + 3:start + 6]] == ["3 (50.0%)", "3 (100.0%)", "6 (66.7%)"]
