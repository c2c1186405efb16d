import csv
import json

import click
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from coding.assist.synthetic import make_dataset
from surveyapp.commands.assist import add_evaluate_command


@pytest.fixture
def cli():
    @click.group()
    def coding() -> None:
        """Coding commands."""

    add_evaluate_command(coding)
    return coding


@pytest.fixture(scope="module")
def data():
    return make_dataset(150, error_rate=0.1, seed=8)


def _sheet_rows(data, with_consensus=False):
    rows = [["Unit", "Text", "Coder", "Codes"]]
    for unit, by in data.codings.items():
        for coder, codes in by.items():
            rows.append([unit, data.units[unit], coder, "; ".join(sorted(codes))])
        if with_consensus:
            rows.append([unit, "", "agreed", ";".join(sorted(data.truth[unit]))])
    return rows


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_evaluate_a_workbook_prints_the_table_and_verdict(cli, data, tmp_path):
    book = Workbook()
    for row in _sheet_rows(data):
        book.active.append(row)
    book.save(tmp_path / "coded.xlsx")
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "coded.xlsx"), "--folds", "3"])
    assert result.exit_code == 0, result.output
    assert "150 units, coders: coder1, coder2, coder3; held out in turn: coder1, coder2, coder3" in result.output
    assert "Compared: leave one coder out" in result.output
    assert "(450 (coder, unit) pairs, the same for each row)" in result.output
    assert "per held-out coder" in result.output and "coverage" in result.output
    assert "Suggestions agree with each held-out coder" in result.output


def test_evaluate_json_with_a_consensus_coder(cli, data, tmp_path):
    path = _write_csv(tmp_path / "coded.csv", _sheet_rows(data, with_consensus=True))
    args = ["evaluate", str(path), "--consensus", "agreed", "--folds", "2", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # The consensus is compared with, never trained on: the held-out coder had a voice in it.
    assert report["target"] == "majority of the other coders (leave one coder out)"
    assert report["coders"] == ["coder1", "coder2", "coder3"]
    assert report["consensus_units"] == 150
    assert report["suggestions_vs_humans"]["vs_consensus"]["units"] == 3 * 150
    assert report["suggestions_vs_humans"]["micro_f1"] > report["baseline_vs_humans"]["micro_f1"]


def test_evaluate_for_one_coder(cli, data, tmp_path):
    path = _write_csv(tmp_path / "coded.csv", _sheet_rows(data))
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--coder", "coder2", "--folds", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["held_out"] == ["coder2"] and list(report["per_coder"]) == ["coder2"]
    assert report["suggestions_vs_humans"]["pairs"] == 150


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["unit", "text", "codes"], ["u1", "hi", "a"]], "coded.csv:1: missing column 'coder'"),
        ([["unit", "text", "coder", "codes"], ["u1", "hi", "", "a"]], "coded.csv:2, column C ('coder'): empty"),
        ([["unit", "text", "coder", "codes"], ["u1", "hi", "x", "a"], ["u1", "bye", "y", "a"]],
         "coded.csv:3, column B ('text'): text of unit 'u1' differs from line 2"),
        ([["unit", "text", "coder", "codes"], ["u1", "", "x", "a"]], "unit 'u1' has no text"),
    ],
)
def test_bad_sheets_say_where(cli, tmp_path, rows, message):
    path = _write_csv(tmp_path / "coded.csv", rows)
    result = CliRunner().invoke(cli, ["evaluate", str(path)])
    assert result.exit_code == 1
    assert message in result.output


def test_unknown_coder_and_missing_file(cli, data, tmp_path):
    path = _write_csv(tmp_path / "coded.csv", _sheet_rows(data))
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--coder", "nobody"])
    assert result.exit_code == 1 and "no row has coder 'nobody'" in result.output
    result = CliRunner().invoke(cli, ["evaluate", "some-project"])
    assert result.exit_code == 1 and "not a file" in result.output
