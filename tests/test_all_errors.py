"""Every error of an instrument at once: the library collects them, `instruments check` prints them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_instrument_pages import THREE_ERRORS

from instrument import InvalidInstrument, parse_instrument
from surveyapp.cli import cli

EXPECTED = [
    "three.yaml:8: question 'aware': unknown type 'yesno'",
    "three.yaml:17: question 'age': min is greater than max",
    "three.yaml:23: question 'rating': unknown scale 'nosuchscale'",
]


def test_three_independent_errors_come_out_together_with_their_lines():
    with pytest.raises(InvalidInstrument) as raised:
        parse_instrument(THREE_ERRORS, "three.yaml")
    errors = raised.value.errors
    assert len(errors) == 3, errors
    for error, expected in zip(errors, EXPECTED, strict=True):
        assert error.startswith(expected), error
    assert str(raised.value).splitlines() == list(errors)


def test_an_error_that_follows_from_another_is_not_reported():
    # 'followup' shows only if 'aware' (broken) says yes: one error, not two. Control: with 'aware' missing
    # altogether, the condition is wrong on its own and is reported.
    with pytest.raises(InvalidInstrument) as raised:
        parse_instrument(THREE_ERRORS, "three.yaml")
    assert not any("followup" in e for e in raised.value.errors)
    no_aware = THREE_ERRORS.replace("      - id: aware\n        type: yesno\n        text: Are you aware?\n", "")
    with pytest.raises(InvalidInstrument) as raised:
        parse_instrument(no_aware, "three.yaml")
    assert any("question 'followup': show_if refers to 'aware'" in e for e in raised.value.errors)


def test_top_level_errors_choice_lists_and_scores_are_collected_too():
    text = """\
id: Bad_Id
version: 0
title: t
colour: red
choices:
  broken: []
  fine: [a, b]
sections:
  - id: s
    questions:
      - id: q1
        type: single_choice
        text: one
        choices: broken
      - id: q2
        type: single_choice
        text: two
        choices: fine
        other: maybe
scores:
  - id: total
    items: [nowhere]
"""
    with pytest.raises(InvalidInstrument) as raised:
        parse_instrument(text, "f.yaml")
    lines = [e.split(":")[1] for e in raised.value.errors]
    assert lines == sorted(lines, key=int)
    joined = "\n".join(raised.value.errors)
    for part in ("f.yaml:1: instrument id 'Bad_Id'", "f.yaml:2: 'version' is required",
                 "f.yaml:4: unknown key 'colour'", "f.yaml:6: choices must be a non-empty list",
                 "question 'q2': 'other' must be true or false", "score 'total'"):
        assert part in joined, joined
    assert "unknown choice list 'broken'" not in joined  # a knock-on of line 6


def test_a_valid_instrument_still_parses():
    fixed = (THREE_ERRORS.replace("yesno", "single_choice\n        choices: yes_no").replace("min: 90", "min: 9")
             .replace("nosuchscale", "agreement"))
    assert parse_instrument(fixed, "three.yaml").id == "three-errors"


def test_check_prints_every_error_one_per_line(tmp_path: Path):
    (tmp_path / "three.yaml").write_text(THREE_ERRORS, encoding="utf-8")
    result = CliRunner().invoke(cli, ["instruments", "check", str(tmp_path / "three.yaml")])
    assert result.exit_code == 1
    printed = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(printed) == 3, result.output
    for line, expected in zip(printed, EXPECTED, strict=True):
        assert line.startswith("error: ") and expected.split(":", 1)[1] in line, line
        assert "three.yaml:" in line


def test_a_sections_key_that_is_not_a_list_is_an_error_not_a_crash():
    # Found by the loader fuzz (make harden): the prose check ran after 'sections' was reported and iterated it.
    for value in ("true", "5", "{a: 1}"):
        with pytest.raises(InvalidInstrument, match="'sections' must be a non-empty list"):
            parse_instrument(f"id: x\nversion: 1\ntitle: X\nintro: Hello\nsections: {value}\n", "x.yaml")
