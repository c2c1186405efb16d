"""CSV (and xlsx) exports run no answer as a formula, whichever separator the spreadsheet cuts at.

The attack of the issue: a free-text answer ``ok;=2*21`` written unquoted is cut by a spreadsheet set to ``;``
(most of Europe) into ``ok`` and ``=2*21``, which shows 42. Here real LibreOffice opens the export with ``,``
and with ``;`` as separator, saves it as xlsx, and the cells are counted: formula cells, error cells, and (with
``,``, where the file's own columns are meant) cells whose value is not the text that was written. A control
writes the same answers the way the export did before (minimal quoting, only the field's first character
guarded) and must show formula cells, so the check can fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from exports.csvout import write_csv
from exports.imports.report import ImportReport, Problem
from exports.model import SurveyInfo
from exports.tabular.csvwrite import CsvWriter, csv_cell
from exports.tabular.text import csv_text, csv_unescape
from exports.workbook import write_workbook
from instrument import parse_instrument

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (Debian: apt-get "
                                       "install libreoffice-calc; CI installs it)")

HOSTILE = ["ok;=2*21", "=1+1", "+1", "-1+1", "@SUM(1)", "\t=1", "a\n=3+3", "a\r\n-4+4", "=2+2\n=3+3",
           'say "hi";=4*4', "x;+5", "Ünïcödé ✓;-7+1", "#N/A", "'=x", "-3", "3;=1+2", 'x;"=1+1"', 'a\n"";=9*9',
           "x,=1+1", "line one\nline two", "日本語;@A1", '=HYPERLINK("http://evil.example";"click")',
           "plain text, with a comma; and a semicolon", "- a bullet\n- another\n+ a third", "'", ""]

INSTRUMENT = parse_instrument("""
id: notes
version: 1
title: Notes
sections:
  - id: s
    questions:
      - {id: note, type: text, long: true, text: Your note}
      - {id: n, type: number, text: A number}
      - {id: tag, type: text, text: A tag}
""")


def hostile_answers() -> list[dict[str, Any]]:
    """One response per hostile text; the number is negative (it must stay a number); the tag holds it twice."""
    return [{"note": text or None, "n": -i if i % 2 else -i - 0.5, "tag": f"{text};{text}" if text else None}
            for i, text in enumerate(HOSTILE)]


def old_writer(path: Path, rows: list[list[Any]]) -> None:
    """The export before the fix: minimal quoting, only a field's first character guarded (the control)."""
    def guard(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r", "'"):
            return "'" + value
        return "" if value is None else value

    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        for row in rows:
            writer.writerow([guard(v) for v in row])


def as_rows(answers: list[dict[str, Any]]) -> list[list[Any]]:
    return [["note", "n", "tag"]] + [[a["note"], a["n"], a["tag"]] for a in answers]


def libreoffice(files: list[Path], out: Path, profile: Path, infilter: str | None = None) -> dict[str, Path]:
    """Have LibreOffice open *files* (CSV with *infilter*) and save each as xlsx in *out*; return {stem: xlsx}."""
    out.mkdir(parents=True, exist_ok=True)
    command = [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore"]
    if infilter:
        command.append(f"--infilter={infilter}")
    done = subprocess.run([*command, "--convert-to", "xlsx", "--outdir", str(out), *map(str, files)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    converted = {f.stem: out / f"{f.stem}.xlsx" for f in files}
    assert all(p.exists() for p in converted.values()), (done.stdout, done.stderr)
    return converted


def census(xlsx: Path) -> dict[str, Any]:
    """Count the formula and error cells of every sheet; return them with the first sheet's values."""
    wb = load_workbook(xlsx)
    formulas = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    errors = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "e"]
    values = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    return {"formulas": formulas, "errors": errors, "values": values}


def differing(path: Path, values: list[list[Any]]) -> list[tuple[Any, Any]]:
    """Return the cells LibreOffice (reading with ',') shows otherwise than the text in the file says."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    wrong = []
    for line, (want_row, got_row) in enumerate(zip(written, values, strict=False)):
        for column, want in enumerate(want_row):
            got = got_row[column] if column < len(got_row) else None
            if line > 0 and column == 1:  # the number column: a number it must stay
                ok = isinstance(got, (int, float)) and got == float(want)
            else:
                ok = (got or "") == re.sub(r"\r\n?", "\n", want)  # LibreOffice keeps line feeds only
            if not ok:
                wrong.append((want, got))
    if len(written) != len(values):
        wrong.append((f"{len(written)} rows", f"{len(values)} rows"))
    return wrong


@needs_libreoffice
def test_libreoffice_runs_no_answer_with_comma_or_semicolon(tmp_path):
    answers = hostile_answers()
    ours, old = tmp_path / "ours.csv", tmp_path / "old.csv"
    assert write_csv(ours, INSTRUMENT, answers) == len(HOSTILE)
    old_writer(old, as_rows(answers))
    profile = tmp_path / "profile"
    # Separator, text delimiter ", UTF-8, from line 1: as a user in a "," or a ";" locale opens the file.
    seen = {sep: libreoffice([ours, old], tmp_path / f"sep{code}", profile, f"CSV:{code},34,76,1")
            for sep, code in ((",", 44), (";", 59))}
    figures = {}
    for sep, files in seen.items():
        for name, xlsx in files.items():
            found = census(xlsx)
            wrong = differing(tmp_path / f"{name}.csv", found["values"]) if sep == "," else []
            figures[(sep, name)] = (len(found["formulas"]), len(found["errors"]), len(wrong), found)
            print(f"CSV opened with '{sep}' ({name}): {len(HOSTILE)} hostile answers x 2 text columns, "
                  f"{len(found['formulas'])} formula cells {found['formulas'][:4]}, {len(found['errors'])} error "
                  f"cells" + (f", {len(wrong)} cells not as written {wrong[:3]}" if sep == "," else ""))
    for sep in (",", ";"):
        assert figures[(sep, "ours")][:3] == (0, 0, 0), figures[(sep, "ours")][3]["formulas"]
    # The control: the old writing, opened with ';', runs answers (ok;=2*21 shows 42).
    assert figures[(";", "old")][0] > 0
    assert "=2*21" in figures[(";", "old")][3]["formulas"]
    # Opened with ',', ours shows the numbers as numbers, -3 included, and every text as written.
    values = figures[(",", "ours")][3]["values"]
    assert [row[1] for row in values[1:]] == [a["n"] for a in answers]


@needs_libreoffice
def test_libreoffice_runs_no_answer_in_the_workbook(tmp_path):
    answers = hostile_answers()
    ours, control = tmp_path / "ours.xlsx", tmp_path / "control.xlsx"
    info = SurveyInfo("notes", "Notes", "notes", 1, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    write_workbook(ours, INSTRUMENT, info, answers)
    wb = Workbook()
    for a in answers:  # the control: openpyxl stores any '=...' text as a formula
        wb.active.append([a["note"], a["n"], a["tag"]])
    wb.save(control)
    saved = libreoffice([ours, control], tmp_path / "resaved", tmp_path / "profile")
    counts = {name: census(path) for name, path in saved.items()}
    for name, found in counts.items():
        print(f"xlsx re-saved by LibreOffice ({name}): {len(HOSTILE)} hostile answers, "
              f"{len(found['formulas'])} formula cells, {len(found['errors'])} error cells")
    assert (counts["ours"]["formulas"], counts["ours"]["errors"]) == ([], [])
    assert len(counts["control"]["formulas"]) > 0


# Without LibreOffice: the rule itself ------------------------------------------------------------------------

CELL_BREAK = re.compile(r"[,;\t\n\r]")
ACTIVE_START = ("=", "+", "-", "@")
NUMBER = re.compile(r'-?[0-9]+(?:\.[0-9]+)?"?')


def active_fragments(written: str) -> list[str]:
    """Cut a written CSV text wherever some reader may start a cell, ignoring the quotes altogether, and return
    the pieces a spreadsheet would run (a plain number such as -3 is a number, not a formula)."""
    parts = [part.lstrip('"') for part in CELL_BREAK.split(written)]
    return [p for p in parts if p.startswith(ACTIVE_START) and not NUMBER.fullmatch(p)]


def random_texts(count: int, seed: int = 10) -> list[str]:
    alphabet = "=+-@\t\r\n'\",;# aZ1ü"
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(count)]


def test_no_cell_a_reader_may_cut_out_starts_a_formula(tmp_path):
    texts = HOSTILE + random_texts(5_000)
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = CsvWriter(out)
        for text in texts:
            writer.writerow([text, -3, text])
    written = path.read_text(encoding="utf-8")
    assert active_fragments(written) == []
    assert written.startswith('"') and '"-3"' in written  # every field quoted, a number too
    with path.open(encoding="utf-8", newline="") as handle:
        back = list(csv.reader(handle))
    assert [csv_unescape(row[0]) for row in back] == texts
    assert {row[1] for row in back} == {"-3"}


def test_the_old_writing_lets_a_reader_cut_out_formulas(tmp_path):
    old_writer(tmp_path / "old.csv", [["ok;=2*21", -3]])
    assert active_fragments((tmp_path / "old.csv").read_text(encoding="utf-8-sig")) == ["=2*21"]


def test_csv_text_round_trips():
    texts = HOSTILE + random_texts(20_000, seed=11)
    assert [t for t in texts if csv_unescape(csv_text(t)) != t] == []


@pytest.mark.parametrize(("value", "cell"), [(None, ""), (True, 1), (False, 0), (-3, -3), (-2.5, -2.5),
                                             ("-3", "'-3"), ("ok;=2*21", "ok;'=2*21"), ("#N/A", "'#N/A"),
                                             (dt.date(2026, 1, 2), "2026-01-02")])
def test_csv_cell_keeps_numbers_and_guards_text(value, cell):
    assert csv_cell(value) == cell


def test_the_import_report_is_written_safely(tmp_path):
    report = ImportReport(source="=evil.csv", imported=1,
                          skipped=[Problem(where="=evil.csv:2", what="-1 is below 0;=1+1", question="@q")])
    report.write(tmp_path / "report.csv")
    written = (tmp_path / "report.csv").read_text(encoding="utf-8-sig")
    assert active_fragments(written) == []
    assert "\"'=evil.csv:2\",\"'@q\",\"'-1 is below 0;'=1+1\"" in written
