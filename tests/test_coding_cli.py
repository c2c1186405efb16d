"""`surveykit coding ...` on the app's database, through the app's CLI runner."""

from __future__ import annotations

import datetime as dt
import json
import math
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import update
from test_cli_coding import KRIPPENDORFF_2011, write_sheet

from coding import projects as P
from coding.codebook import stored as C
from coding.store import Application
from surveyapp import db
from surveyapp.models import Response

from conftest import CODEBOOK_XSD

DATA = Path(__file__).parent / "data" / "coding"
LEAD = "lead@example.org"


def open_survey(runner: FlaskCliRunner, slug: str = "dept") -> None:
    result = runner.invoke(args=["surveys", "create", "department-survey", "--id", slug])
    assert result.exit_code == 0, result.output


def add_responses(app: Flask, slug: str, answers: list[dict]) -> None:
    with app.app_context(), db.new_session() as s:
        for a in answers:
            s.add(Response(survey_slug=slug, instrument_id="department-survey", instrument_version=1,
                           instrument_sha256="0" * 64, submitted_on=dt.date.today(), answers=a))
        s.commit()


def ok(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["coding", *args])
    assert result.exit_code == 0, result.output
    return result.output


def fails(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["coding", *args])
    assert result.exit_code == 1, result.output
    return result.output


def stats(app: Flask, name: str) -> dict[str, int]:
    with app.app_context(), db.new_session() as s:
        return P.project_stats(s, P.get_project(s, name))


def test_create_from_survey_and_add_new_answers(app: Flask, runner: FlaskCliRunner) -> None:
    open_survey(runner)
    add_responses(app, "dept", [{"aware": "yes", "benefits_text": "Felt heard", "barriers_text": "No time"},
                                {"aware": "yes", "benefits_text": "  ", "barriers_text": None},
                                {"aware": "no"}])
    out = ok(runner, "create", "post", "--survey", "dept", "--question", "benefits_text",
             "--question", "barriers_text", "--codebook", str(DATA / "codebook.yaml"))
    assert "2 answers to code as 'Round 1'" in out
    assert stats(app, "post")["units"] == 2
    assert "no new answers (2 already there)" in ok(runner, "add-answers", "post")
    add_responses(app, "dept", [{"aware": "yes", "benefits_text": "Hopeful", "barriers_text": "Privacy"}])
    assert "2 new answers added as 'Round 2'" in ok(runner, "add-answers", "post")
    assert stats(app, "post")["units"] == 4
    with app.app_context(), db.new_session() as s:
        project = P.get_project(s, "post")
        units = s.query(P.Unit).filter_by(project_id=project.id).all()
        assert {u.text for u in units} == {"Felt heard", "No time", "Hopeful", "Privacy"}
        assert all(u.source.startswith("survey:dept:") for u in units)
        # The two answers of one response share a respondent, and nothing else about the response is kept.
        assert len({u.respondent for u in units}) == 2
        assert len(list(C.load_tree(s, project.id).walk())) == 7
    listing = ok(runner, "list")
    assert "post" in listing and "dept:benefits_text" in listing


@pytest.mark.parametrize(("args", "message"), [
    (["--survey", "nope"], "no survey 'nope'"),
    (["--survey", "dept", "--question", "aware"], "question 'aware' is single_choice, not an open-ended text"),
    (["--survey", "dept", "--question", "missing"], "question 'missing' is in none of the surveys dept"),
])
def test_create_errors_store_nothing(app: Flask, runner: FlaskCliRunner, args: list[str], message: str) -> None:
    open_survey(runner)
    assert message in fails(runner, "create", "post", *args)
    assert "no coding projects yet" in ok(runner, "list")


def test_create_defaults_to_questions_marked_for_coding(app: Flask, runner: FlaskCliRunner) -> None:
    open_survey(runner)
    add_responses(app, "dept", [{"aware": "yes", "benefits_text": "a", "barriers_text": "b",
                                 "suggestions_text": "c"}])
    assert "3 answers to code" in ok(runner, "create", "post", "--survey", "dept")


def test_agreement_on_a_project_equals_agreement_on_its_spreadsheet(app: Flask, runner: FlaskCliRunner,
                                                                     tmp_path: Path) -> None:
    rows = [(f"unit {u + 1}", f"observer {'ABCD'[i]}", f"Value/{int(row[u])}")
            for i, row in enumerate(KRIPPENDORFF_2011) for u in range(12) if not math.isnan(row[u])]
    sheet = write_sheet(tmp_path / "k2011.csv", rows)
    from_file = json.loads(ok(runner, "agreement", str(sheet), "--json", "--bootstrap", "200"))
    assert round(from_file["overall"]["krippendorff_alpha"], 3) == 0.743
    with_text = tmp_path / "k2011-text.csv"
    with_text.write_text("unit,coder,codes,text\n" + "\n".join(f"{u},{c},{k},answer {u}" for u, c, k in rows),
                         encoding="utf-8")
    assert "12 new units" in ok(runner, "import", "k2011", str(with_text))
    from_project = json.loads(ok(runner, "agreement", "k2011", "--json", "--bootstrap", "200"))
    assert from_project == from_file
    assert "Krippendorff's alpha" in ok(runner, "agreement", "k2011", "--bootstrap", "0")
    assert "not a file, and no coding project" in fails(runner, "agreement", "nothing-here")


def test_codebook_import_export_diff(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    sheet = tmp_path / "u.csv"
    sheet.write_text("unit,text\n1,First answer\n", encoding="utf-8")
    ok(runner, "import", "books", str(sheet))
    assert "7 codes added" in ok(runner, "codebook", "import", "books", str(DATA / "codebook.yaml"))
    qdc = tmp_path / "books.qdc"
    assert "(7 codes)" in ok(runner, "codebook", "export", "books", str(qdc))
    etree.XMLSchema(etree.parse(str(CODEBOOK_XSD))).assertValid(etree.parse(str(qdc)))
    assert "0 codes added, 0 updated, 7 unchanged" in ok(runner, "codebook", "import", "books", str(qdc))
    ok(runner, "rename", "books", "Barriers/Time", "Lack of time", "--why", "paper's wording", "--by", LEAD)
    changes = json.loads(ok(runner, "codebook", "diff", "books", "--from", "1", "--json"))
    assert changes["renamed"] == [{"from": "Barriers/Time", "to": "Barriers/Lack of time"}]
    assert changes["entries"][0]["who"] == LEAD and changes["entries"][0]["why"] == "paper's wording"
    text = ok(runner, "codebook", "diff", "books", "--from", "1")
    assert "renamed   Barriers/Time -> Barriers/Lack of time" in text
    assert "rename Barriers/Time -> Barriers/Lack of time -- paper's wording" in text
    assert "added     Barriers/Lack of time" in ok(runner, "codebook", "diff", "books")
    yaml_out = tmp_path / "books.yaml"
    ok(runner, "codebook", "export", "books", str(yaml_out))
    assert "Lack of time" in yaml_out.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("codes:\n  - name: A\n    color: red\n", encoding="utf-8")
    assert "bad.yaml:3: code 'A': colour 'red' is not #RRGGBB" in fails(runner, "codebook", "import", "books",
                                                                         str(bad))


def coded_project(runner: FlaskCliRunner, tmp_path: Path) -> None:
    sheet = tmp_path / "coded.csv"
    sheet.write_text(
        "unit,text,coder,codes\n"
        "1,Felt heard,CL,Effectiveness/Perspective; Effectiveness/Hope\n"
        "1,,MT,Effectiveness/Perspective\n"
        "=2+3,=HYPERLINK(\"http://x\"),CL,Implementation/Time\n"
        "=2+3,,MT,Implementation/Time; Effectiveness/Hope\n"
        "3,-not a formula either,CL,Effectiveness/Hope\n"
        "3,,MT,Effectiveness/Hope\n", encoding="utf-8")
    ok(runner, "import", "loop", str(sheet))


def test_codebook_evolution_commands(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    coded_project(runner, tmp_path)
    before = stats(app, "loop")["applications"]
    out = ok(runner, "merge", "loop", "Effectiveness/Hope", "Effectiveness/Perspective", "--why", "overlap")
    assert "3 applications moved, 1 collapsed" in out
    assert stats(app, "loop")["applications"] == before - 1
    out = ok(runner, "split", "loop", "Effectiveness/Perspective", "Self", "Others", "--why", "two ideas")
    assert "into Effectiveness/Self, Effectiveness/Others: 5 applications and 0 consensus" in out
    ok(runner, "move", "loop", "Implementation/Time", "--why", "a domain of its own")
    ok(runner, "retire", "loop", "Time", "--why", "unused")
    ok(runner, "retire", "loop", "Time", "--restore", "--why", "used after all")
    assert "inside it" in fails(runner, "move", "loop", "Effectiveness", "--to", "Effectiveness/Self",
                                "--why", "x")
    assert "Missing option '--why'" in runner.invoke(args=["coding", "retire", "loop", "Time"]).output
    actions = [e["action"] for e in json.loads(ok(runner, "codebook", "diff", "loop", "--json"))["entries"]]
    assert actions == ["import", "merge", "split", "move", "retire", "restore"]
    rounds = ok(runner, "rounds", "loop")
    assert "Import coded.csv (closed)" in rounds


def test_export_workbook(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    coded_project(runner, tmp_path)
    out = tmp_path / "themes.xlsx"
    with app.app_context(), db.new_session() as s:
        # Mark the formula-looking answer as a representative quote, so its text lands in the theme table.
        s.execute(update(Application).where(Application.unit_id == P.units_by_label(
            s, P.get_project(s, "loop"), ["=2+3"])["=2+3"].id, Application.coder == "CL").values(quote=True))
        s.commit()
    printed = ok(runner, "export", "loop", "--out", str(out), "--bootstrap", "50")
    assert "9 sheets" in printed
    book = load_workbook(out)
    assert book.sheetnames == ["Summary", "Effectiveness", "Implementation", "Agreement", "Matrix CL", "Matrix MT",
                               "Matrix final", "Co-occurrence", "Audit log"]
    rows = [[c for c in r] for r in book["Effectiveness"].iter_rows(values_only=True)]
    header = rows.index(next(r for r in rows if r and r[0] == "Theme"))
    body = {r[0].strip(): r for r in rows[header + 1:]}
    # Hope: CL and MT agree on unit 3, disagree on 1 and 2 -> final codes hold it on unit 3 only.
    assert body["Hope"][3] == "1 (33.3%) of 3"
    assert body["Hope"][5] == 2  # units 1 and 2 still await a consensus on Hope: shown, not dropped silently
    assert body["Perspective"][3] == "1 (33.3%) of 3"
    time_row = next(r for r in book["Implementation"].iter_rows(values_only=True) if r and r[0] == "Time")
    assert time_row[3] == "1 (33.3%) of 3"
    final = list(book["Matrix final"].iter_rows(values_only=True))
    assert final[1] == ("unit", "Effectiveness", "Effectiveness/Perspective", "Effectiveness/Hope",
                        "Implementation", "Implementation/Time")
    assert final[2:] == [("1", 0, 1, 0, 0, 0), ("=2+3", 0, 0, 0, 0, 1), ("3", 0, 0, 1, 0, 0)]
    assert time_row[7] == '\u201c=HYPERLINK("http://x")\u201d'
    assert book["Matrix final"]["A4"].data_type == "s" and book["Matrix final"]["A4"].quotePrefix
    assert len(list(book["Audit log"].iter_rows())) == 2
    # Answer text that looks like a formula is stored as text, never as a formula.
    with zipfile.ZipFile(out) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "written as .xlsx" in fails(runner, "export", "loop", "--out", str(tmp_path / "x.csv"))


def test_export_rule_for_units_without_consensus(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    coded_project(runner, tmp_path)
    out = tmp_path / "themes.xlsx"
    ok(runner, "export", "loop", "--out", str(out), "--bootstrap", "0", "--without-consensus", "any")
    rows = [r for r in load_workbook(out)["Effectiveness"].iter_rows(values_only=True)]
    hope = next(r for r in rows if r[0] and r[0].strip() == "Hope")
    assert hope[3] == "3 (100.0%) of 3" and hope[5] == 2  # any coder: units 1-3; 1 and 2 still disputed
    assert any(isinstance(r[0], str) and "rule 'any'" in r[0] for r in rows)
    bad = runner.invoke(args=["coding", "export", "loop", "--out", str(out), "--without-consensus", "some"])
    assert bad.exit_code == 2 and "'some' is not one of 'all', 'majority', 'any'" in bad.output
