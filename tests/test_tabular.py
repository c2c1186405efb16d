"""exports.tabular: one reader, one error format, safe cells, atomic saving and one percentage everywhere."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from coding import projects as P
from coding import tables as T
from coding.errors import InvalidSpreadsheet
from coding.importing import import_sheet
from coding.spreadsheet import read_codings
from coding.workbook import export_project
from exports.model import SurveyInfo
from exports.readers import InvalidImport, read_table
from exports.suppress import TOTAL, Suppression, table_hidden
from exports.tabular.cells import sheet_title
from exports.tabular.errors import TableError, place
from exports.tabular.percent import n_pct, percent
from exports.tabular.reading import open_table
from exports.tabular.saving import replacing, save_atomically
from exports.workbook import write_workbook
from instrument import parse_instrument
from surveyapp import db


def cells_of(path: Path) -> set[object]:
    book = load_workbook(path, read_only=True)
    try:
        return {value for ws in book.worksheets for row in ws.iter_rows(values_only=True) for value in row}
    finally:
        book.close()


# ------------------------------------------------------------------------------------------------ percentages


@pytest.mark.parametrize(("n", "of", "shown"), [
    (18, 32, "18 (56.3%)"),  # 56.25: round() on the float gives 56.2
    (1, 8, "1 (12.5%)"),
    (1, 16, "1 (6.3%)"),  # 6.25
    (5, 16, "5 (31.3%)"),  # 31.25
    (3, 16, "3 (18.8%)"),  # 18.75
    (2, 3, "2 (66.7%)"),
    (0, 7, "0 (0.0%)"),
    (4, 0, "4"),
])
def test_percentages_round_half_up_on_exact_ties(n, of, shown):
    assert n_pct(n, of) == shown
    assert percent(n, of) == (None if of == 0 else float(shown.split("(")[1].rstrip("%)")))


YES_NO = parse_instrument(textwrap.dedent("""
    id: tie
    version: 1
    title: Tie
    sections:
      - id: one
        title: One
        questions:
          - {id: aware, type: single_choice, text: "Aware?", choices: yes_no}
""").strip(), "tie.yaml")


def test_survey_workbook_prints_18_of_32_as_56_3(tmp_path):
    answers = [{"aware": "yes"}] * 18 + [{"aware": "no"}] * 14
    write_workbook(tmp_path / "s.xlsx", YES_NO, SurveyInfo("tie", "Tie", "tie", 1), answers)
    found = cells_of(tmp_path / "s.xlsx")
    assert "18 (56.3%)" in found and 56.3 in found
    assert "18 (56.2%)" not in found and 56.2 not in found


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context(), db.new_session() as s:
        yield s


def test_coding_theme_tables_and_workbook_print_18_of_32_as_56_3(session: Session, tmp_path: Path) -> None:
    rows = ["unit,text,coder,codes"]
    rows += [f"u{i},answer {i},CL,Barriers/{'Time' if i < 18 else 'Cost'}" for i in range(32)]
    sheet = tmp_path / "coded.csv"
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    project = P.create_project(session, "tie", "lead@example.org")
    import_sheet(session, project, sheet, "lead@example.org")
    tables = T.theme_tables(session, project)
    time = next(r for d in tables.domains for r in d.rows if r.path == "Barriers/Time")
    assert (time.n_units, tables.n_units, time.pct_units, time.pct_respondents) == (18, 32, 56.3, 56.3)
    export_project(session, project, tmp_path / "coding.xlsx", bootstrap=10)
    found = cells_of(tmp_path / "coding.xlsx")
    assert "18 (56.3%) of 32" in found and 56.3 in found
    assert not any(isinstance(v, str) and "56.2%" in v for v in found)


# ----------------------------------------------------------------------------------------------------- reading


def write_xlsx(path: Path, rows: list[list[object]], title: str = "Sheet") -> Path:
    book = Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_bad_rows_name_file_line_and_column_the_same_way_from_csv_and_xlsx(tmp_path):
    header, good, bad = ["unit", "coder", "codes"], ["r1", "a", "X"], ["r2", "", "Y"]
    csv_file = tmp_path / "coded.csv"
    csv_file.write_text("\n".join(",".join(r) for r in (header, good, bad)) + "\n", encoding="utf-8")
    xlsx_file = write_xlsx(tmp_path / "coded.xlsx", [header, good, bad])
    messages = []
    for path in (csv_file, xlsx_file):
        with pytest.raises(TableError) as info:
            read_codings(path)
        assert (info.value.file, info.value.line, info.value.column, info.value.what) == (path.name, 3, 1, "empty")
        messages.append(str(info.value))
    assert messages == ["coded.csv:3, column B ('coder'): empty", "coded.xlsx:3, column B ('coder'): empty"]


def test_answer_files_and_coded_sheets_raise_the_same_error_type(tmp_path):
    assert InvalidImport is TableError and InvalidSpreadsheet is TableError
    repeated = tmp_path / "answers.csv"
    repeated.write_text("id,aware,aware\n1,yes,no\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"^answers\.csv:1, column C \('aware'\): header 'aware' repeats column B"):
        read_table(repeated)
    book = write_xlsx(tmp_path / "answers.xlsx", [["id", "aware", "aware"]])
    with pytest.raises(TableError, match=r"^answers\.xlsx:1, column C \('aware'\): header 'aware' repeats column B"):
        read_table(book)


def test_bad_bytes_and_unreadable_files_name_the_line(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("unit,coder\nr1,a\nr2,Zoë\n".encode("latin-1"))
    with pytest.raises(TableError, match=r"^latin\.csv:3: not UTF-8 text"):
        list(open_table(latin).rows())
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(TableError, match=r"^broken\.xlsx: not a readable \.xlsx workbook"):
        open_table(broken)
    with pytest.raises(TableError, match=r"^notes\.ods: unknown file type '\.ods'; use \.csv or \.xlsx"):
        open_table(tmp_path / "notes.ods")


def test_reads_bom_delimiters_utf16_and_uploaded_bytes(tmp_path):
    semicolons = tmp_path / "excel.csv"
    semicolons.write_bytes(b"\xef\xbb\xbfemail;department\na@x.org;ICU\n")
    assert list(open_table(semicolons).text_rows()) == [(1, ["email", "department"]), (2, ["a@x.org", "ICU"])]
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_bytes("email\tdepartment\nzoë@x.org\tICU\n".encode("utf-16"))
    assert list(open_table(unicode_text).text_rows())[1] == (2, ["zoë@x.org", "ICU"])
    # Uploads: a workbook is recognised by its bytes whatever its name; a row after a multi-line cell keeps
    # the line an editor shows.
    book = write_xlsx(tmp_path / "r.xlsx", [["email", "department"], ["a@x.org", 17.0]]).read_bytes()
    assert list(open_table(book, "roster.csv").text_rows()) == [(1, ["email", "department"]), (2, ["a@x.org", "17"])]
    upload = open_table(b'email,note\na@x.org,"two\nlines"\n\nb@x.org,\n', "roster.csv")
    assert [line for line, _ in upload.text_rows()] == [1, 2, 5]
    assert upload.error("missing department", 5).args[0] == "roster.csv:5: missing department"


def test_reading_a_csv_loads_no_openpyxl():
    code = ("import sys; import coding.spreadsheet, exports.tabular.reading, exports.tabular.percent; "
            "print('openpyxl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_place_uses_the_letter_and_the_header():
    assert place("/data/in.csv", 12, 27, "Q7") == "in.csv:12, column AB ('Q7')"
    assert place("in.csv", 3, 0) == "in.csv:3, column A"
    assert place("in.csv") == "in.csv"


# ----------------------------------------------------------------------------------------------------- writing


def test_sheet_titles_are_valid_and_unique():
    taken: set[str] = set()
    assert sheet_title("Barriers/Facilitators: [2024]?", taken) == "Barriers Facilitators   2024"
    assert sheet_title("'quoted'", taken) == "quoted"
    long = "A very long domain name that goes on and on"
    first, second = sheet_title(long, taken), sheet_title(long.upper(), taken)
    assert len(first) == 31 and len(second) == 31 and second.endswith(" (2)")


def test_atomic_save_leaves_no_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_text("half a fi", encoding="utf-8")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []

    class FailingBook(Workbook):
        def save(self, filename):
            Path(filename).write_bytes(b"PK\x03\x04 half a workbook")
            raise OSError("disk full")

    target.write_text("old", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"):
        save_atomically(FailingBook(write_only=True), target)
    assert list(tmp_path.iterdir()) == [target] and target.read_text(encoding="utf-8") == "old"


def test_coding_workbook_failure_leaves_no_file(session: Session, tmp_path: Path, monkeypatch) -> None:
    project = P.create_project(session, "empty", "lead@example.org")

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("coding.workbook._audit", broken)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        export_project(session, project, out / "p.xlsx", bootstrap=10)
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------------------------------------- suppression


def test_table_suppression_protects_cells_and_totals():
    rule = Suppression(5)
    # Response rates: departments x (answered, not answered); invited is the row total.
    table = {"EM": {"answered": 7, "not answered": 13}, "ICU": {"answered": 0, "not answered": 3},
             "Anesthesia": {"answered": 0, "not answered": 9}}
    hidden = table_hidden(table, rule)
    # ICU's 3 invited is small: its total and, its line being below k, its zero answers too.
    assert {("ICU", TOTAL), ("ICU", "answered"), ("ICU", "not answered")} <= hidden
    # EM's 7 answers would give ICU's away (7 answered in all), so they hide too, then EM's other cell.
    assert ("EM", "answered") in hidden and ("EM", "not answered") in hidden
    # Nothing can be worked out: no line holds exactly one hidden number.
    rows, columns = list(table), ["answered", "not answered"]
    lines = [[(r, TOTAL), *((r, c) for c in columns)] for r in rows]
    lines += [[(TOTAL, c), *((r, c) for r in rows)] for c in columns]
    lines += [[(TOTAL, TOTAL), *((r, TOTAL) for r in rows)], [(TOTAL, TOTAL), *((TOTAL, c) for c in columns)]]
    assert all(sum(cell in hidden for cell in line) != 1 for line in lines)
    # Zeros in a line of k or more are shown; so are big totals.
    assert ("Anesthesia", "answered") not in hidden and (TOTAL, TOTAL) not in hidden
    assert table_hidden(table, Suppression(enabled=False)) == set()


def test_table_suppression_hides_another_total_when_one_is_small():
    hidden = table_hidden({"A": {"yes": 2, "no": 1}, "B": {"yes": 10, "no": 10}, "C": {"yes": 6, "no": 6}},
                          Suppression(5))
    assert ("A", TOTAL) in hidden and ("C", TOTAL) in hidden  # 3 = 35 - 20 - 12 otherwise
    assert ("B", TOTAL) not in hidden
