"""Reading coded spreadsheets (CSV and XLSX) into Codings."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from coding.errors import InvalidSpreadsheet
from coding.spreadsheet import parse_codes, read_codings


def write_csv(path, text: str, *, bom: bool = False):
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def write_xlsx(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


GOOD_CSV = """unit,coder,codes,text
r1,alice,"Effectiveness / Perspective taking; Barriers",The course helped me see the patient's side
r1,bob,Effectiveness/Perspective taking,The course helped me see the patient's side
r2,alice,,Nothing to add
r2,bob, Barriers ;,
"""


@pytest.mark.parametrize("bom", [False, True])
def test_reads_csv(tmp_path, bom):
    sheet = read_codings(write_csv(tmp_path / "coded.csv", GOOD_CSV, bom=bom))
    assert sheet.codings == {
        "r1": {"alice": frozenset({"Effectiveness/Perspective taking", "Barriers"}),
               "bob": frozenset({"Effectiveness/Perspective taking"})},
        "r2": {"alice": frozenset(), "bob": frozenset({"Barriers"})},
    }
    assert sheet.texts == {"r1": "The course helped me see the patient's side", "r2": "Nothing to add"}


def test_reads_xlsx_with_numeric_unit_ids_and_any_header_case(tmp_path):
    path = write_xlsx(tmp_path / "coded.xlsx", [
        ["Unit", "Coder", "Codes", "Notes"],
        [17, "alice", "Barriers/Time", "ignored column"],
        [17.0, "bob", None, None],
        [None, None, None, None],
        [18, "alice", "Barriers/Time;Barriers/Cost", None],
    ])
    sheet = read_codings(path)
    assert sheet.codings == {
        "17": {"alice": frozenset({"Barriers/Time"}), "bob": frozenset()},
        "18": {"alice": frozenset({"Barriers/Time", "Barriers/Cost"})},
    }
    assert sheet.texts == {}


def test_csv_and_xlsx_agree(tmp_path):
    rows = [["unit", "coder", "codes", "text"], ["a", "x", "P/Q; R", "hello"], ["a", "y", "R", "hello"]]
    csv_text = "\n".join(",".join(f'"{c}"' for c in row) for row in rows) + "\n"
    from_csv = read_codings(write_csv(tmp_path / "s.csv", csv_text))
    from_xlsx = read_codings(write_xlsx(tmp_path / "s.xlsx", rows))
    assert from_csv == from_xlsx


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("unit,coder,codes\nr1,alice,A\nr2,,A\n", 3, "column B ('coder'): empty"),
        ("unit,coder,codes\n,alice,A\n", 2, "column A ('unit'): empty"),
        ("unit,coder,codes\nr1,alice,A\nr1,bob,B\nr1,alice,C\n", 4,
         "column B ('coder'): unit 'r1' coded by 'alice' again (first on line 2)"),
        ("unit,coder,codes\nr1,alice,A//B\n", 2, "column C ('codes'): empty level in code 'A//B'"),
        ("unit,coder,codes\nr1,alice,/B\n", 2, "column C ('codes'): empty level in code '/B'"),
        ("unit,coder,codes,text\nr1,a,X,one\nr1,b,X,two\n", 3,
         "column D ('text'): text of unit 'r1' differs from line 2"),
        ("unit,coder,codes,unit\n", 1, "column D ('unit'): duplicate column"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path, body, line, message):
    path = write_csv(tmp_path / "coded.csv", body)
    with pytest.raises(InvalidSpreadsheet) as info:
        read_codings(path)
    assert str(info.value) == f"{path.name}:{line}, {message}"
    assert info.value.line == line


def test_line_numbers_are_the_physical_line_a_csv_row_starts_on(tmp_path):
    # One rule for every table file (exports.tabular): after a quoted newline, the line an editor shows.
    body = 'unit,coder,codes,text\nr1,alice,A,"two\nlines"\nr2,,A,\n'
    path = write_csv(tmp_path / "coded.csv", body)
    with pytest.raises(InvalidSpreadsheet, match=r"coded\.csv:4, column B \('coder'\): empty"):
        read_codings(path)


def test_xlsx_errors_use_excel_row_numbers(tmp_path):
    rows = [["unit", "coder", "codes"], ["r1", "a", "X"], [None, None, None], ["r1", "a", "Y"]]
    path = write_xlsx(tmp_path / "coded.xlsx", rows)
    with pytest.raises(InvalidSpreadsheet, match=r"coded\.xlsx:4, column B \('coder'\): unit 'r1' coded by 'a'"):
        read_codings(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [("unit,text\n", "missing columns 'coder', 'codes'"), ("unit,coder,text\n", "missing column 'codes'"),
     ("\n", "no header row")],
)
def test_missing_columns_are_named(tmp_path, header, message):
    path = write_csv(tmp_path / "coded.csv", header)
    with pytest.raises(InvalidSpreadsheet, match=rf"coded\.csv:1: {message}"):
        read_codings(path)


def test_rejects_other_file_types_and_broken_files(tmp_path):
    with pytest.raises(InvalidSpreadsheet, match="unknown file type '.ods'"):
        read_codings(tmp_path / "coded.ods")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InvalidSpreadsheet, match="not a readable .xlsx workbook"):
        read_codings(broken)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("unit,coder,codes\nr1,Zoë,A\n".encode("latin-1"))
    with pytest.raises(InvalidSpreadsheet, match="not UTF-8"):
        read_codings(latin)


def test_invalid_spreadsheet_is_a_value_error():
    assert issubclass(InvalidSpreadsheet, ValueError)


@pytest.mark.parametrize(
    ("cell", "codes"),
    [("", set()), ("  ", set()), ("A", {"A"}), (" A / B ;C", {"A/B", "C"}), ("A;A", {"A"}), ("A;", {"A"})],
)
def test_parse_codes(cell, codes):
    assert parse_codes(cell) == frozenset(codes)
