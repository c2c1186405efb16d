"""`coding agreement` and `coding codebook convert` through click's CliRunner, on files in tmp_path."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from surveyapp.commands.coding import group

from conftest import CODEBOOK_XSD

DATA = Path(__file__).parent / "data" / "coding"

nan = math.nan
KRIPPENDORFF_2011 = [  # 4 observers x 12 units, nominal alpha 0.743
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]
FLEISS_1971 = [  # 30 patients x 6 psychiatrists, kappa 0.430
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]
COHEN_1960 = [[88, 14, 18], [10, 40, 10], [2, 6, 12]]  # kappa 0.492
DIAGNOSES = ["Depression", "Personality disorder", "Schizophrenia", "Neurosis", "Other"]


def write_sheet(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["unit", "coder", "codes"])
        writer.writerows(rows)
    return path


def run_json(sheet: Path) -> dict:
    result = CliRunner().invoke(group, ["agreement", str(sheet), "--json", "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_krippendorff_2011(tmp_path):
    rows = [(f"unit {u + 1}", f"observer {'ABCD'[i]}", f"Value/{int(row[u])}")
            for i, row in enumerate(KRIPPENDORFF_2011) for u in range(12) if not math.isnan(row[u])]
    report = run_json(write_sheet(tmp_path / "k2011.csv", rows))
    assert round(report["overall"]["krippendorff_alpha"], 3) == 0.743
    assert report["units"] == 12
    assert report["overall"]["n_units"] == 11  # unit 12 has one value: not pairable


def test_fleiss_1971(tmp_path):
    rows = [(f"patient {p + 1}", f"psychiatrist {j + 1}", DIAGNOSES[d - 1])
            for p, ratings in enumerate(FLEISS_1971) for j, d in enumerate(ratings)]
    report = run_json(write_sheet(tmp_path / "fleiss.csv", rows))
    assert round(report["overall"]["fleiss_kappa"], 3) == 0.430


def test_cohen_1960(tmp_path):
    rows = []
    for i, row in enumerate(COHEN_1960):
        for j, count in enumerate(row):
            for _ in range(count):
                unit = f"u{len(rows) // 2}"
                rows += [(unit, "judge A", f"c{i}"), (unit, "judge B", f"c{j}")]
    report = run_json(write_sheet(tmp_path / "cohen.csv", rows))
    assert round(report["overall"]["cohen_kappa"]["judge A|judge B"], 3) == 0.492


def test_readable_table(tmp_path):
    rows = [("r1", "alice", "A/x; B"), ("r1", "bob", "A/x"), ("r2", "alice", "B"), ("r2", "bob", "B"),
            ("r3", "alice", ""), ("r3", "bob", "A/x")]
    result = CliRunner().invoke(group, ["agreement", str(write_sheet(tmp_path / "s.csv", rows)),
                                        "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert "3 units, 3 coded by two or more of: alice, bob" in result.output
    assert "percent agreement (identical code sets)     0.333" in result.output
    assert "A/x" in result.output and "alice|bob" in result.output


def test_bad_spreadsheet_is_a_clean_error(tmp_path):
    sheet = tmp_path / "coded.csv"
    sheet.write_text("unit,coder,codes\nr1,,A\n", encoding="utf-8")
    result = CliRunner().invoke(group, ["agreement", str(sheet)])
    assert result.exit_code == 1
    assert f"Error: {sheet.name}:2, column B ('coder'): empty" in result.output


def test_project_names_are_not_supported_yet():
    result = CliRunner().invoke(group, ["agreement", "empathy-study"])
    assert result.exit_code == 1
    assert "not a file" in result.output


def test_codebook_convert_round_trip(tmp_path):
    qdc = tmp_path / "codebook.qdc"
    result = CliRunner().invoke(group, ["codebook", "convert", str(DATA / "codebook.yaml"), str(qdc)])
    assert result.exit_code == 0, result.output
    assert "(7 codes)" in result.output
    etree.XMLSchema(etree.parse(str(CODEBOOK_XSD))).assertValid(etree.parse(str(qdc)))
    back = tmp_path / "back.yaml"
    result = CliRunner().invoke(group, ["codebook", "convert", str(qdc), str(back)])
    assert result.exit_code == 0, result.output
    assert "Perspective taking" in back.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("codes:\n  - name: A\n    colour: '#FFFFFF'\n", ":3: code 'A': unknown key 'colour'"),
        ("codes: []\n", "at least one code"),
    ],
)
def test_codebook_convert_errors(tmp_path, text, message):
    source = tmp_path / "bad.yaml"
    source.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(group, ["codebook", "convert", str(source), str(tmp_path / "out.qdc")])
    assert result.exit_code == 1
    assert message in result.output
