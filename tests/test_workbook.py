"""The survey workbook: the paper's numbers from raw answers, Likert charts, suppression, formula safety."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from instrument import Instrument, parse_section, settle
from surveyapp.db import new_session
from surveyapp.models import Response, Survey
from surveyapp.surveys import instrument_of

DEPARTMENTS = ["em"] * 30 + ["obgyn"] * 15 + ["hospitalists"] * 12 + ["icu"] * 10 + ["anesthesia"] * 8


def paper_forms() -> list[dict[str, Any]]:
    """Return the 75 department-survey answer sheets whose counts are the paper's (PLOS ONE 2023, Results)."""
    forms = []
    for i in range(75):
        form: dict[str, Any] = {"department": DEPARTMENTS[i], "gender": "woman" if i % 2 else "man",
                                "aware": "yes" if i < 66 else "no"}
        j = i  # the 66 aware respondents are i = 0..65
        if i < 66:
            form["referred_colleague"] = "yes" if j < 30 else "no"
            form["self_referred"] = "yes" if j >= 50 else "no"
            form["interaction"] = "had" if j < 32 else "declined" if j < 40 else "never"
            if j < 32:
                form["interaction_count"] = "one" if j < 14 else "two" if j < 25 else "three_plus"
                form["helpfulness"] = "1" if j == 31 else "5" if j < 20 else "4"
                form["wellbeing_change"] = "improved" if j < 27 else "unchanged"
                form["emotions_comfort"] = "more" if j < 24 else "same"
            # Satisfaction: 26 very satisfied, 18 satisfied, 18 neutral, 2 dissatisfied, 2 left empty (n = 64).
            if j < 26:
                form["satisfaction"] = "5"
            elif j < 29 or 32 <= j < 47:
                form["satisfaction"] = "4"
            elif j < 32 or 47 <= j < 62:
                form["satisfaction"] = "3"
            elif j < 64:
                form["satisfaction"] = "2"
            form["recommend"] = ("5" if j < 30 else "4" if j < 55 else "3") if j < 65 else ""
            form["department_impact"] = "5" if j < 40 else "4" if j < 55 else "3"
            barriers = []
            if j < 36:
                barriers.append("time")
            if 36 <= j < 52:
                barriers.append("no_need")
            if j < 12:
                barriers.append("privacy")
            if 20 <= j < 32:
                barriers.append("discomfort")
            if 60 <= j < 62:
                barriers.append("medicolegal")
            form["barriers"] = barriers
            if j % 3 == 0:
                form["benefits_text"] = f"Respondent {j} says: it helped.\nSecond line ✓"
        forms.append(form)
    return forms


def submit(instrument: Instrument, form: dict[str, Any]) -> dict[str, Any]:
    """Validate one answer sheet exactly as the respondent pages do; return the stored answers."""
    data: MultiDict[str, str] = MultiDict()
    for key, value in form.items():
        for v in value if isinstance(value, list) else [value]:
            data.add(key, v)
    answers: dict[str, Any] = {}
    for section in instrument.sections:
        values, errors = parse_section(section, data, answers)
        assert not errors, errors
        answers.update(values)
    settled, errors = settle(instrument, answers)
    assert not errors, errors
    return settled


def store(app: Flask, slug: str, forms: list[dict[str, Any]]) -> None:
    with app.app_context(), new_session() as session:
        survey = session.get(Survey, slug)
        instrument = instrument_of(survey)
        version = survey.instrument_version
        for form in forms:
            session.add(Response(survey_slug=slug, instrument_id=version.instrument_id,
                                 instrument_version=version.version, instrument_sha256=version.sha256,
                                 submitted_on=dt.date(2022, 3, 20), answers=submit(instrument, form)))
        session.commit()


def open_survey(runner, instrument: str, slug: str, *extra: str) -> str:
    result = runner.invoke(args=["surveys", "create", instrument, "--id", slug, "--title", "POST survey", *extra])
    assert result.exit_code == 0, result.output
    return slug


def export(runner, slug: str, out: Path, *extra: str) -> Path:
    result = runner.invoke(args=["export", slug, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def table(ws, question_id: str) -> dict[str, Any]:
    """Return a question's table from a sheet: its note and {row label: row cells}."""
    rows = list(ws.iter_rows(values_only=True))
    for i, row in enumerate(rows):
        if isinstance(row[0], str) and row[0].startswith(f"{question_id}: "):
            body = {}
            for r in rows[i + 3:]:
                if r[0] is None:
                    break
                body[r[0]] = list(r[1:4])
            return {"note": rows[i + 1][0], "header": rows[i + 2], "rows": body}
    raise AssertionError(f"no table for {question_id} on sheet {ws.title}")


@pytest.fixture
def paper_workbook(app, runner, tmp_path) -> Any:
    open_survey(runner, "department-survey", "post-dept", "--opens", "2022-03-01", "--closes", "2022-03-31")
    store(app, "post-dept", paper_forms())
    return load_workbook(export(runner, "post-dept", tmp_path / "post.xlsx", "--by", "interaction"))


def test_paper_counts_from_raw_answers(paper_workbook):
    wb = paper_workbook
    aware = table(wb["The POST program"], "aware")
    assert aware["rows"]["Yes"] == [66, 88.0, "66 (88.0%)"]
    assert "Shown to 75 of 75 respondents" in aware["note"]

    use = wb["Your use of the program"]
    referred = table(use, "referred_colleague")
    assert referred["rows"]["Yes"] == [30, 45.5, "30 (45.5%)"]
    assert "Shown to 66 of 75 respondents (not shown: 9)" in referred["note"]
    assert table(use, "self_referred")["rows"]["Yes"][2] == "16 (24.2%)"
    interaction = table(use, "interaction")["rows"]
    assert interaction["Yes, I have had a POST interaction"][2] == "32 (48.5%)"
    assert interaction["No peer supporter has reached out to me"][2] == "26 (39.4%)"
    assert interaction["A peer supporter reached out but I declined"][2] == "8 (12.1%)"

    view = wb["Your view of the program"]
    barriers = table(view, "barriers")
    assert barriers["header"][2] == "% of respondents"
    assert barriers["rows"]["Lack of time"] == [36, 54.5, "36 (54.5%)"]
    assert barriers["rows"]["No perceived need"][2] == "16 (24.2%)"
    assert barriers["rows"]["Privacy concerns"][2] == "12 (18.2%)"
    assert barriers["rows"]["Medical-legal concerns"][2] == "<5"  # 2: suppressed by default (k = 5)
    satisfaction = table(view, "satisfaction")
    assert "answered 64 (no answer 2)" in satisfaction["note"]
    assert satisfaction["rows"]["5 Very satisfied"][2] == "26 (40.6%)"
    # 2 dissatisfied is hidden; one more cell must go, or 64 - 26 - 18 - 18 would give it away.
    assert satisfaction["rows"]["2 Dissatisfied"][2] == "<5"
    assert satisfaction["rows"]["3 Neither satisfied nor dissatisfied"][2] == "x"
    assert satisfaction["rows"]["4 Satisfied"][2] == "18 (28.1%)"
    assert table(view, "recommend")["rows"]["Top two boxes (Likely or Very likely)"][2] == "55 (84.6%)"
    count = table(wb["Your POST interactions"], "interaction_count")["rows"]
    assert count["Two"][0] + count["Three or more"][0] == 18

    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Responses"] == 75
    assert summary["Instrument"].startswith("department-survey, version 1")
    assert summary["Opens"].date() == dt.date(2022, 3, 1)
    assert summary["Small-cell suppression"].startswith("on (k = 5)")


def test_satisfaction_compared_by_interaction(paper_workbook):
    ws = paper_workbook["By interaction"]
    satisfaction = table(ws, "satisfaction")
    assert satisfaction["header"][1:4] == ("Yes, I have had a POST interaction (n=32)",
                                           "A peer supporter reached out but I declined (n=8)",
                                           "No peer supporter has reached out to me (n=24)")  # 24 answered
    ws_rows = [r for r in ws.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(ws_rows) if r[0] and r[0].startswith("satisfaction: "))
    assert satisfaction["header"][4] == "No answer / not shown (n=0)"  # the 9 unaware: not asked either
    rows = {r[0]: list(r[1:3]) + list(r[3:6:2]) for r in ws_rows[start + 3: start + 9]}  # skip the n=0 column
    # 26 of 32 is 81.25%: printed half up, as journals do.
    assert rows["5 Very satisfied"] == ["26 (81.3%)", "0 (0.0%)", "0 (0.0%)", "26 (40.6%)"]
    # Small cells (3 and 3 among those who had an interaction) are hidden; the 2 dissatisfied make a row
    # whose total is below 5, hidden whole (its zeros would say which group the two are in); then every
    # row and column with a single hidden cell loses its smallest other count (x), or subtraction would
    # give the hidden one away. Unsuppressed: 4 = [3, 8, 7], 3 = [3, 0, 15], 2 = [0, 0, 2].
    assert rows["4 Satisfied"] == ["<5", "x", "x", "18 (28.1%)"]
    assert rows["3 Neither satisfied nor dissatisfied"] == ["<5", "0 (0.0%)", "x", "x"]
    assert rows["2 Dissatisfied"] == ["x", "x", "<5", "<5"]
    assert rows["Median level"] == [5, 4, 3, 4]


def test_likert_sheet_has_native_percent_stacked_charts(paper_workbook):
    ws = paper_workbook["Likert"]
    charts = ws._charts
    assert len(charts) == 4  # helpfulness, agreement, likelihood, satisfaction scales
    for chart in charts:
        assert chart.type == "bar"
        assert chart.grouping == "percentStacked"
        assert chart.overlap == 100
        assert len(chart.series) == 5
    rows = list(ws.iter_rows(values_only=True))
    recommend = next(r for r in rows if isinstance(r[0], str) and r[0].startswith("recommend:"))
    assert recommend[1:7] == ("<5", "<5", 10, 25, 30, 65) or recommend[1:7] == (0, 0, 10, 25, 30, 65)


def test_raw_data_and_dictionary(paper_workbook):
    raw = list(paper_workbook["Raw data"].iter_rows(values_only=True))
    header = raw[0]
    assert len(raw) == 76
    assert header[:6] == ("department", "gender", "age_group", "years_in_practice", "setting", "aware")
    assert "barriers.time" in header and "barriers.other_text" in header
    col = {h: i for i, h in enumerate(header)}
    flags = [r[col["barriers.time"]] for r in raw[1:]]
    assert flags.count(1) == 36 and flags.count(0) == 30 and flags.count(None) == 9
    texts = [r[col["benefits_text"]] for r in raw[1:] if r[col["benefits_text"]]]
    assert len(texts) == 22 and all(t.endswith("\nSecond line ✓") for t in texts)
    dictionary = {r[0]: r for r in paper_workbook["Data dictionary"].iter_rows(values_only=True)}
    assert dictionary["referred_colleague"][6] == "aware is yes"
    assert dictionary["aware"][5] == "yes = Yes; no = No"
    assert dictionary["barriers.time"][5] == "1 = Lack of time chosen, 0 = not chosen"


def test_no_suppression_shows_small_counts_and_says_so(app, runner, tmp_path):
    open_survey(runner, "department-survey", "post-dept")
    store(app, "post-dept", paper_forms())
    wb = load_workbook(export(runner, "post-dept", tmp_path / "open.xlsx", "--no-suppression"))
    view = wb["Your view of the program"]
    assert table(view, "barriers")["rows"]["Medical-legal concerns"] == [2, 3.0, "2 (3.0%)"]
    satisfaction = table(view, "satisfaction")["rows"]
    assert satisfaction["3 Neither satisfied nor dissatisfied"][2] == "18 (28.1%)"
    assert satisfaction["2 Dissatisfied"][2] == "2 (3.1%)"
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["Small-cell suppression"].startswith("OFF")


def test_suppression_threshold_comes_from_the_setting(database_url, tmp_path):
    from conftest import make_test_app

    app = make_test_app(database_url, tmp_path, SURVEYKIT_MIN_CELL=20)
    try:
        runner = app.test_cli_runner()
        open_survey(runner, "department-survey", "post-dept")
        store(app, "post-dept", paper_forms())
        wb = load_workbook(export(runner, "post-dept", tmp_path / "k20.xlsx"))
        rows = table(wb["Your use of the program"], "interaction")["rows"]
        assert rows["A peer supporter reached out but I declined"][2] == "<20"
        assert rows["Yes, I have had a POST interaction"][2] == "32 (48.5%)"
    finally:
        app.extensions["surveykit.engine"].dispose()


NASTY = ["=1+1", "=HYPERLINK(\"http://evil.example\",\"click\")", "+41 22 000", "-5 days", "@SUM(A1:A2)",
         "\tleading tab", "#N/A", "line one\nline two\r\nline three", "Ünïcödé — 日本語 — emoji 🙂",
         "x" * 10_000]

NOTES = """
id: notes
version: 1
title: Notes
sections:
  - id: s
    questions:
      - {id: kind, type: single_choice, text: Kind, choices: [Note, Idea], other: true}
      - {id: note, type: text, long: true, max_length: 20000, text: Your note}
"""


@pytest.fixture
def notes_app(database_url, tmp_path):
    from conftest import make_test_app

    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "notes.yaml").write_text(NOTES, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    runner = app.test_cli_runner()
    open_survey(runner, "notes", "notes")
    forms = [{"kind": "other", "kind__other": f"=other {i}", "note": text} for i, text in enumerate(NASTY)]
    store(app, "notes", forms)
    yield app, runner
    app.extensions["surveykit.engine"].dispose()


def test_formula_looking_text_stays_text_in_xlsx(notes_app, tmp_path):
    _app, runner = notes_app
    path = export(runner, "notes", tmp_path / "nasty.xlsx")
    ws = load_workbook(path)["Raw data"]
    rows = list(ws.iter_rows())
    col = {c.value: i for i, c in enumerate(rows[0])}
    cells = [r[col["note"]] for r in rows[1:]]
    # parse_question strips surrounding whitespace and turns CRLF into LF, as for a web submission.
    assert {c.value for c in cells} == {t.replace("\r\n", "\n").strip() for t in NASTY}
    for cell in cells:
        assert cell.data_type == "s", (cell.value, cell.data_type)
        if cell.value[0] in "=+-@" or cell.value == "#N/A":
            assert cell.quotePrefix, cell.value
    others = [r[col["kind.other_text"]] for r in rows[1:]]
    assert all(c.data_type == "s" and c.value.startswith("=other") and c.quotePrefix for c in others)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name)
                assert b"<f>" not in xml and b"<f " not in xml, name  # no formula anywhere


def test_formula_looking_text_is_escaped_in_csv(notes_app, tmp_path):
    _app, runner = notes_app
    path = export(runner, "notes", tmp_path / "nasty.csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["kind", "kind.other_text", "note"]
    values = {r[2] for r in rows[1:]}
    for text in ("=1+1", "+41 22 000", "-5 days", "@SUM(A1:A2)"):
        assert "'" + text in values
    assert "leading tab" in values  # stored stripped, like every submitted answer
    assert "line one\nline two\nline three" in values
    assert "Ünïcödé — 日本語 — emoji 🙂" in values and "x" * 10_000 in values
    assert not any(v[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for v in r)


def test_text_longer_than_an_excel_cell_is_split_not_cut(tmp_path):
    import textwrap

    from exports.model import SurveyInfo
    from exports.workbook import write_workbook
    from instrument import parse_instrument

    inst = parse_instrument(textwrap.dedent("""
        id: long
        version: 1
        title: Long
        sections:
          - id: s
            questions:
              - {id: story, type: text, text: Tell us, max_length: 50000}
    """).strip(), "long.yaml")
    text = "".join(chr(0x4E00 + i % 500) for i in range(40_000))
    write_workbook(tmp_path / "long.xlsx", inst, SurveyInfo("long", "Long", "long", 1), [{"story": text}])
    ws = load_workbook(tmp_path / "long.xlsx")["Raw data"]
    header, row = list(ws.iter_rows(values_only=True))
    assert header == ("story", "story#2")
    assert row[0] + row[1] == text


def test_failed_export_leaves_no_file(tmp_path):
    from exports.model import SurveyInfo
    from exports.workbook import write_workbook
    from instrument import load_instrument

    inst = load_instrument(Path(__file__).parent.parent / "instruments" / "department-survey.yaml")

    def broken():
        yield {"department": "em", "aware": "no"}
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_workbook(tmp_path / "x.xlsx", inst, SurveyInfo("s", "S", inst.id, 1), broken())
    assert list(tmp_path.iterdir()) == []


def test_summary_states_invited_and_response_rate(app, runner, tmp_path):
    from surveyapp.models import MailCount

    open_survey(runner, "department-survey", "post-dept", "--mode", "invitation")
    store(app, "post-dept", paper_forms())
    with app.app_context(), new_session() as session:
        session.add(MailCount(survey_slug="post-dept", invitations_sent=255, reminders_sent=0))
        session.commit()
    wb = load_workbook(export(runner, "post-dept", tmp_path / "rate.xlsx"))
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert (summary["Invited"], summary["Responses"], summary["Response rate"]) == (255, 75, "29.4%")
