"""Instrument files: the shipped ones load; broken ones are refused with file, line and question id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from instrument import InvalidInstrument, instrument_files, load_instrument, parse_instrument
from instrument.answers import condition_holds, settle

from conftest import INSTRUMENTS

GOOD = """\
id: demo
version: 1
title: Demo
choices:
  sizes: [Small, Large]
scales:
  frequency: [Never, Sometimes, Often]
sections:
  - id: one
    questions:
      - id: size
        type: single_choice
        text: Size?
        choices: sizes
        required: true
      - id: why
        type: text
        text: Why?
        show_if: {question: size, equals: large}
      - id: freq
        type: likert
        scale: frequency
        text: How often?
"""


def test_shipped_instruments_load():
    ids = {load_instrument(p).id for p in instrument_files([INSTRUMENTS])}
    assert ids == {"supporter-training", "department-survey", "interaction-record", "nomination", "pfi"}


def test_every_question_type_is_used_by_the_shipped_instruments():
    types = {q.type for p in instrument_files([INSTRUMENTS]) for q in load_instrument(p).questions}
    assert types == {"single_choice", "multiple_choice", "likert", "text", "number", "date"}


def test_good_instrument_parses_with_lists_scales_and_conditions():
    inst = parse_instrument(GOOD, "demo.yaml")
    size = inst.question("size")
    assert [o.code for o in size.options] == ["small", "large"]
    assert [o.label for o in inst.question("freq").choices] == ["Never", "Sometimes", "Often"]
    assert inst.question("why").show_if.describe() == "size is large"
    assert len(inst.sha256) == 64


def test_department_survey_denominators_follow_the_paper():
    inst = load_instrument(INSTRUMENTS / "department-survey.yaml")
    unaware, _ = settle(inst, {"department": "em", "aware": "no", "interaction": "had", "helpfulness": 5})
    assert "interaction" not in unaware and "helpfulness" not in unaware and "barriers" not in unaware
    aware, errors = settle(inst, {"department": "em", "aware": "yes", "interaction": "never"})
    assert "barriers" in aware and aware["barriers"] is None  # shown, not answered
    assert "helpfulness" not in aware  # only for those who had an interaction
    assert errors == {}


BROKEN = [
    ("      - id: size\n        type: single_choice", "      - id: size\n        type: yesno",
     12, "question 'size': unknown type 'yesno'"),
    ("        show_if: {question: size, equals: large}", "        show_if: {question: later, equals: x}",
     19, "question 'why': show_if refers to 'later', which is not an earlier question"),
    ("        show_if: {question: size, equals: large}", "        show_if: {question: size, equals: medium}",
     19, "question 'why': show_if value 'medium' is not an option of 'size'"),
    ("        scale: frequency", "        scale: loudness", 22, "question 'freq': unknown scale 'loudness'"),
    ("        choices: sizes", "        choices: colours", 14, "question 'size': unknown choice list 'colours'"),
    ("        text: Why?", "        text: Why?\n        colour: red", 19, "question 'why': unknown key 'colour'"),
    ("      - id: why", "      - id: size", 16, "question 'size': duplicate question id"),
    ("version: 1", "version: one", 2, "'version' is required"),
    ("        required: true", "        required: yes please", 15, "question 'size': 'required' must be true or false"),
    ("  sizes: [Small, Large]", "  sizes: [Small, Small]", 5, "duplicate choice code 'small'"),
    ("      - id: freq", "      - id: Freq", 20, "question 'Freq': ids are lower-case"),
    ("title: Demo", "title: [Demo", 4, "not valid YAML"),
    ("title: Demo\n", "", 1, "'title' is required"),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), BROKEN)
def test_broken_instruments_name_file_line_and_question(old, new, line, message):
    assert old in GOOD
    with pytest.raises(InvalidInstrument) as info:
        parse_instrument(GOOD.replace(old, new, 1), "instruments/x.yaml")
    text = str(info.value)
    assert text.startswith(f"instruments/x.yaml:{line}: "), text
    assert message in text


def test_likert_matrix_items_and_number_limits():
    inst = parse_instrument(textwrap.dedent("""\
        id: m
        version: 2
        title: M
        sections:
          - id: s
            questions:
              - id: conf
                type: likert
                scale: agreement
                text: Confident in
                items:
                  - {id: a, text: A}
                  - {id: b, text: B}
              - id: minutes
                type: number
                integer: true
                min: 10
                max: 600
                text: Minutes
        """), "m.yaml")
    conf = inst.question("conf")
    assert [i.id for i in conf.items] == ["a", "b"] and len(conf.choices) == 5
    assert inst.question("minutes").minimum == 10


def test_min_greater_than_max_is_refused():
    text = GOOD.replace("        text: How often?", "        text: How often?\n") + textwrap.indent(
        "- id: n\n  type: number\n  min: 5\n  max: 1\n  text: N\n", " " * 6)
    with pytest.raises(InvalidInstrument, match=r"x.yaml:\d+: question 'n': min is greater than max"):
        parse_instrument(text, "x.yaml")


@pytest.mark.parametrize(("cond", "answers", "expected"), [
    ({"op": "equals", "question": "a", "values": ("yes",)}, {"a": "yes"}, True),
    ({"op": "equals", "question": "a", "values": ("yes",)}, {"a": None}, False),
    ({"op": "not_equals", "question": "a", "values": ("yes",)}, {"a": "no"}, True),
    ({"op": "not_equals", "question": "a", "values": ("yes",)}, {}, False),
    ({"op": "in", "question": "a", "values": ("x", "y")}, {"a": "y"}, True),
    ({"op": "includes", "question": "a", "values": ("x",)}, {"a": ["x", "z"]}, True),
    ({"op": "includes", "question": "a", "values": ("x",)}, {"a": ["z"]}, False),
    ({"op": "answered", "question": "a"}, {"a": 3}, True),
    ({"op": "answered", "question": "a"}, {"a": []}, False),
])
def test_conditions(cond, answers, expected):
    from instrument import Condition

    assert condition_holds(Condition(**cond), answers) is expected


def test_check_command_accepts_the_shipped_instruments(runner):
    result = runner.invoke(args=["instruments", "check", str(INSTRUMENTS)])
    assert result.exit_code == 0, result.output
    for name in ("supporter-training", "department-survey", "interaction-record", "nomination", "pfi"):
        assert name in result.output


def test_check_command_fails_on_a_broken_copy(runner, tmp_path: Path):
    broken = tmp_path / "x.yaml"
    broken.write_text((INSTRUMENTS / "department-survey.yaml").read_text().replace(
        "      - id: aware\n        type: single_choice", "      - id: aware\n        type: yesno"))
    result = runner.invoke(args=["instruments", "check", str(broken)])
    assert result.exit_code == 1
    line = next(i for i, text in enumerate(broken.read_text().splitlines(), start=1) if "type: yesno" in text)
    assert f"x.yaml:{line}: question 'aware': unknown type 'yesno'" in result.output


def test_list_command(runner):
    result = runner.invoke(args=["instruments", "list"])
    assert result.exit_code == 0
    assert "department-survey" in result.output and "open-ended" in result.output
