"""Results in the browser: the investigators' page shows the workbook's numbers, the SVG bars never rescale, the
shared page behind a revocable link hides exactly what the shared workbook hides and leaks nothing by differencing.

Pages are read with lxml (tables by their caption) and each chart with xml.etree, so the SVG must be
well-formed XML on its own.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import LEAD, PASSWORD
from auth_helpers import log_in as post_log_in
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from openpyxl import load_workbook
from paper_data import paper_forms
from survey_setup import export, open_survey, store
from test_shared_report import Published, small_departments, tables_of

from exports.svgcharts import PLOT
from exports.tabular.percent import percent
from surveyapp import shutdown
from surveyapp.auth.models import create_user
from surveyapp.db import new_session

from conftest import INSTRUMENTS, csrf_from, make_test_app

SVG = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert('x')</script>"
XSS_INSTRUMENT = f"""id: xss
version: 1
title: Escaping
sections:
  - id: only
    questions:
      - id: mood
        type: likert
        scale: agreement
        text: "{XSS} How do you feel?"
"""


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app with the paper's 75 answers ('paper'), 45 from small departments ('small') and an investigator."""
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    (folder / "xss.yaml").write_text(XSS_INSTRUMENT, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    runner = app.test_cli_runner()
    open_survey(runner, "department-survey", "paper")
    store(app, "paper", paper_forms())
    open_survey(runner, "department-survey", "small")
    store(app, "small", small_departments())
    open_survey(runner, "department-survey", "few")  # departments of 26, 9, 6 and 3: one small count alone
    store(app, "few", [f for f in small_departments() if f["department"] != "anesthesia"])
    with app.app_context(), new_session() as s:
        create_user(s, LEAD, PASSWORD, "Lead")
        s.commit()
    yield app
    shutdown(app)
    app.extensions["surveykit.engine"].dispose()


def log_in(app: Flask) -> FlaskClient:
    """Return a client logged in as the investigator."""
    client = app.test_client()
    assert post_log_in(client).status_code == 302
    return client


def page_tables(text: str) -> dict[str, list[list[str]]]:
    """Return each table of a page by its caption's title: header and body rows as text."""
    tree = html.fromstring(text)
    out = {}
    for table in tree.iter("table"):
        caption = table.find("caption")
        title_node = caption.find("span") if caption is not None else None
        title = (title_node if title_node is not None else caption).text_content().strip() \
            if caption is not None else ""
        rows = [[c.text_content().strip() for c in tr if c.tag in ("th", "td")] for tr in table.iter("tr")]
        out[title] = rows
    return out


def charts(text: str) -> list[ET.Element]:
    """Return every chart of a page parsed on its own as XML."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", text, flags=re.S)]


def share(client: FlaskClient, slug: str) -> str:
    """Make a share link on the results page; return its path."""
    page = client.get(f"/admin/s/{slug}/results")
    made = client.post(f"/admin/s/{slug}/results/links", data={"csrf_token": csrf_from(page.text)},
                       follow_redirects=True)
    assert made.status_code == 200
    (link,) = re.findall(r"http://[^ <]+/results/([A-Za-z0-9_-]{43})", made.text)
    return f"/results/{link}"


def cell(value: Any) -> str:
    """Return a workbook cell as the page writes it."""
    return "" if value is None else str(value)


def same_row(page_row: list[str], wb_row: tuple) -> bool:
    """Say whether a page's row shows a workbook row's cells (numbers equal as numbers: 20.0 is read back 20)."""
    for text, value in zip(page_row, wb_row, strict=False):
        if isinstance(value, int | float) and not isinstance(value, bool):
            if float(text) != value:
                return False
        elif text != cell(value):
            return False
    return True


# The investigators' page -------------------------------------------------------------------------------------


def test_page_shows_the_workbooks_numbers_for_the_paper_data(site, tmp_path):
    client = log_in(site)
    page = client.get("/admin/s/paper/results")
    assert page.status_code == 200
    shown = page_tables(page.text)
    wb = load_workbook(export(site.test_cli_runner(), "paper", tmp_path / "paper.xlsx"))
    compared = 0
    for name in wb.sheetnames:
        if name in ("Summary", "Results", "Likert", "Raw data", "Data dictionary"):
            continue
        for qid, (_note, header, *body) in tables_of(wb[name]).items():
            title = next(t for t in shown if t.startswith(f"{qid}: "))
            rows = shown[title]
            assert rows[0] == [cell(h) for h in header[:len(rows[0])]], qid
            for wb_row, page_row in zip(body, rows[1:], strict=True):
                assert same_row(page_row, wb_row), (qid, wb_row, page_row)
                compared += 1
    assert compared > 60
    # The paper's headline figures, exact (investigators hold the raw answers): no suppression mark anywhere.
    aware = shown[next(t for t in shown if t.startswith("aware: "))]
    assert ["Yes", "66", "88.0", "66 (88.0%)"] in aware
    assert not re.search(r">(&lt;5|x)<", page.text)
    # The report file's figures, with their sentences, and the response rate table.
    assert "Of the 75 respondents, 66 (88.0%)" in page.text
    assert shown["Response rate"][-1] == ["All", "not known", "75", "not known"]
    invited = site.test_cli_runner().invoke(args=["surveys", "invited", "paper", "--count", "255"])
    assert invited.exit_code == 0, invited.output
    rates = page_tables(client.get("/admin/s/paper/results").text)["Response rate"]
    assert rates[-1] == ["All", "255", "75", "29.4%"]  # as `surveys status` and the workbook say
    # Table 1 and Fig 4 (four items on different scales, one bar each, n per bar) as the Results sheet has them.
    assert any(t.startswith("Table 1.") for t in shown)
    fig4 = next(svg for svg in charts(page.text) if svg.find(f"{SVG}title").text == "Fig 4. Programmatic feedback")
    assert [g.get("data-n") for g in fig4.iter(f"{SVG}g") if g.get("class") == "bar"] == ["32", "66", "65", "64"]


def test_every_bar_is_100_percent_of_its_n_and_hidden_shares_are_not_rescaled(site):
    client = log_in(site)
    for path in ("/admin/s/paper/results", share(client, "paper")):
        text = client.get(path).text
        found = charts(text)
        assert found, path
        hidden_segments = 0
        for svg in found:
            assert svg.get("role") == "img" and svg.find(f"{SVG}title").text and svg.find(f"{SVG}desc").text
            for bar in svg.iter(f"{SVG}g"):
                if bar.get("class") != "bar":
                    continue
                n = int(bar.get("data-n"))
                segments = [r for r in bar.iter(f"{SVG}rect")]
                pcts = [float(r.get("data-pct")) for r in segments]
                # Each segment's width is its own share of the plot: the bar is never stretched to fill it.
                for r, pct in zip(segments, pcts, strict=True):
                    assert float(r.get("width")) == pytest.approx(PLOT * pct / 100, abs=0.01)
                shown = [p for r, p in zip(segments, pcts, strict=True) if r.get("data-hidden") != "true"]
                hidden = [p for r, p in zip(segments, pcts, strict=True) if r.get("data-hidden") == "true"]
                if n:
                    assert sum(pcts) == pytest.approx(100, abs=0.05 * len(pcts))
                if hidden:
                    hidden_segments += 1
                    assert hidden == [pytest.approx(100 - sum(shown), abs=0.05)]
        if path.startswith("/results/"):
            assert hidden_segments, "the paper's shared page hides small Likert counts: a hatched segment each"
        else:
            assert hidden_segments == 0


def test_the_satisfaction_bar_is_drawn_at_the_tables_percentages(site):
    """The paper's satisfaction (n = 64): 26 / 18 / 18 / 2 / 0. Shared, '2' is hidden and one 18 with it (else 64
    less the others gives it back): one hatched gap of 31.3%, the rest still of all 64, not stretched over it."""
    client = log_in(site)
    shared = client.get(share(client, "paper")).text
    svg = next(s for s in charts(shared) if "satisf" in s.find(f"{SVG}title").text.lower())
    (bar,) = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"]
    assert bar.get("data-n") == "64"
    pcts = {r.get("data-level") or "hidden": float(r.get("data-pct")) for r in bar.iter(f"{SVG}rect")}
    assert pcts["Very satisfied"] == percent(26, 64) == 40.6  # of all 64, not 59.1 of the 44 left after hiding
    assert pcts["Satisfied"] == percent(18, 64) == 28.1
    assert pcts["hidden"] == pytest.approx(100 - 40.6 - 28.1) and len(pcts) == 3


def test_a_pilot_of_five_answers_gets_a_note_not_a_blank_chart(site):
    open_survey(site.test_cli_runner(), "department-survey", "pilot")
    store(site, "pilot", [paper_forms()[i] for i in (0, 20, 25, 29, 40)])  # satisfaction 5, 5, 5, 4, 3
    client = log_in(site)
    exact = client.get("/admin/s/pilot/results").text
    assert "No chart: every count is hidden" not in exact and charts(exact)
    shared = site.test_client().get(share(client, "pilot")).text
    assert "No chart: every count is hidden (too few answers to show)" in shared
    for svg in charts(shared):  # whatever is still drawn spans 100% of its n, its hidden part hatched
        for bar in (g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"):
            assert sum(float(r.get("data-pct")) for r in bar.iter(f"{SVG}rect")) == pytest.approx(100, abs=0.3)


# The shared page ---------------------------------------------------------------------------------------------


def shared_workbook(site: Flask, slug: str, out: Path):
    return load_workbook(export(site.test_cli_runner(), slug, out, "--shared"))


@pytest.mark.parametrize("slug", ["small", "few", "paper"])
def test_shared_page_hides_exactly_what_the_shared_workbook_hides(site, tmp_path, slug):
    client = log_in(site)
    link = share(client, slug)
    anonymous = site.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200
    shown = page_tables(page.text)
    wb = shared_workbook(site, slug, tmp_path / f"{slug}.xlsx")
    compared = 0
    for name in wb.sheetnames:
        if name in ("Summary", "Likert"):
            continue
        for qid, (_note, header, *body) in tables_of(wb[name]).items():
            title = next(t for t in shown if t.startswith(f"{qid}: "))
            assert shown[title][0] == [cell(h) for h in header[:len(shown[title][0])]]
            for wb_row, page_row in zip(body, shown[title][1:], strict=True):
                assert same_row(page_row, wb_row), (qid, wb_row, page_row)
                compared += 1
    assert compared > 40
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    hidden = int(re.search(r"(\d+) counts are hidden", summary["Shared report"]).group(1))
    assert hidden > 0
    assert f"{hidden} counts hidden." in page.text  # said on its face, the workbook's count
    # No raw data, no free text, no report file: the paper's free-text answers never reach the page.
    assert "it helped" not in page.text and "Raw data" not in shown and "Figures" not in shown
    assert "Of the 75 respondents" not in page.text


def published_page(text: str) -> Published:
    """Read a page's single-choice tables into the differencing checker's lines (test_shared_report.Published)."""
    from test_shared_report import SURVEY

    seen = Published()
    choice = {q.id for q in SURVEY.questions if q.type == "single_choice"}
    tree = html.fromstring(text)
    for table in tree.iter("table"):
        caption = table.find("caption")
        if caption is None:
            continue
        title = caption.find("span").text_content() if caption.find("span") is not None else ""
        qid = title.split(":")[0]
        if qid not in choice:
            continue
        shown = int(re.search(r"Shown to (\d+)", caption.text_content()).group(1))
        body = [[c.text_content().strip() for c in tr] for tr in table.find("tbody").iter("tr")]
        for row in body:
            seen.see(("q", qid, row[0]), row[1])
        seen.lines.append((shown, [("q", qid, row[0]) for row in body]))
    return seen


@pytest.mark.parametrize("slug", ["small", "few", "paper"])
def test_shared_page_leaks_nothing_by_differencing(site, slug):
    client = log_in(site)
    seen = published_page(site.test_client().get(share(client, slug)).text)
    assert len(seen.lines) >= 8 and seen.leaks() == set()
    assert slug == "paper" or len(seen.hidden) >= 2  # the small departments are hidden, with a complement


def test_control_a_page_without_complementary_suppression_leaks(site, monkeypatch):
    """The control: primary suppression only (each small count alone) is caught by the same checker."""
    from exports import resultspage

    monkeypatch.setattr(resultspage, "joint_hidden", lambda collector, rule: {
        ("q", q.id, code) for q in collector.instrument.questions
        if (s := collector.total[q.id]) is not None and hasattr(s, "counts") and hasattr(s, "unanswered")
        for code, n in [*s.counts.items(), ("No answer", s.unanswered)] if rule.hides(n)})
    client = log_in(site)
    seen = published_page(site.test_client().get(share(client, "few")).text)
    assert seen.leaks(), "primary suppression alone should leak, or the checker could not see a leak"


def test_share_links_are_revocable_and_unknown_ones_are_404(site):
    client = log_in(site)
    link = share(client, "small")
    anonymous = site.test_client()
    working = anonymous.get(link)
    assert working.status_code == 200
    assert working.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert working.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in working.text
    for bad in ("/results/" + "A" * 43, "/results/short", "/results/" + link[-43:-1] + "%00"):
        gone = anonymous.get(bad)
        assert gone.status_code == 404 and "Traceback" not in gone.text, bad
    page = client.get("/admin/s/small/results")
    key = re.search(r'/admin/s/small/results/links/([^/]+)/revoke', page.text).group(1)
    revoked = client.post(f"/admin/s/small/results/links/{key}/revoke", data={"csrf_token": csrf_from(page.text)},
                          follow_redirects=True)
    assert "revoked" in revoked.text
    after = anonymous.get(link)
    assert after.status_code == 404 and "withdrawn" in after.text
    assert after.headers["X-Robots-Tag"] == "noindex, nofollow"
    # The token itself is nowhere in the database: only its hash.
    with site.app_context(), new_session() as s:
        from surveyapp.models import ResultsLink

        stored = s.query(ResultsLink).one()
        assert link[-43:] not in (stored.token_hash, stored.key) and stored.revoked_at is not None


def test_results_pages_need_an_investigator(site):
    anonymous = site.test_client()
    for path in ("/admin/s/paper/results", "/coding/post/results"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path
    made = anonymous.post("/admin/s/paper/results/links", data={})
    assert made.status_code in (302, 400)
    with site.app_context(), new_session() as s:
        from surveyapp.models import ResultsLink

        assert s.query(ResultsLink).count() == 0
    # Control: the investigator sees the page.
    assert log_in(site).get("/admin/s/paper/results").status_code == 200
    assert log_in(site).get("/admin/s/nope/results").status_code == 404


def test_question_text_is_escaped_in_tables_and_charts(site):
    open_survey(site.test_cli_runner(), "xss", "xss")
    store(site, "xss", [{"mood": str(1 + i % 5)} for i in range(12)])
    text = log_in(site).get("/admin/s/xss/results").text
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; How do you feel?" in text  # shown, escaped
    (svg,) = charts(text)
    assert svg.find(f"{SVG}title").text == f"{XSS} How do you feel?"  # the text itself, as text
    assert not list(svg.iter(f"{SVG}script")) and not list(svg.iter("script"))


# A coding project's theme tables -----------------------------------------------------------------------------


def test_project_results_count_by_the_rule_and_stay_blind(app):
    from test_coding_web import PASSWORD as CODER_PASSWORD
    from test_coding_web import A, B, save, setup_project, unit_ids
    from test_coding_web import login as coder_login

    with app.app_context(), new_session() as s:
        create_user(s, A, CODER_PASSWORD, "Coder A")
        create_user(s, B, CODER_PASSWORD, "Coder B")
        s.commit()
    ids = setup_project(app, ["First <b>answer</b>", "Second answer"])
    first, second = unit_ids(app)
    a, b = coder_login(app, A), coder_login(app, B)
    save(a, first, [ids["Barriers/Time"]])
    save(a, second, [ids["Barriers/Time"]])
    save(b, first, [ids["Effectiveness/Perspective"]])
    save(b, second, [ids["Barriers/Time"]])
    b.post("/coding/post/rounds/1/finish", data={"csrf_token": csrf_from(b.get("/coding/post/").text)})

    def time_row(client, query=""):
        page = client.get(f"/coding/post/results{query}")
        assert page.status_code == 200
        tables = page_tables(page.text)
        barriers = next(rows for title, rows in tables.items() if title.startswith("Barriers: units with a theme"))
        return page.text, next(r for r in barriers if r[0] == "Time")

    # A has not finished the round: B's codes are hidden from A, so nothing is counted for A, and A is told.
    text, row = time_row(a)
    assert row[1] == "0 of 0"
    assert "2 coded units are not counted here" in text
    # B finished: both units are revealed. Majority of two coders = both: unit 1 has Time, unit 0 is disputed.
    text, row = time_row(b)
    assert "not counted here" not in text
    assert row[1:5] == ["1 (50.0%) of 2", "1 (50.0%) of 2", "1", "0"]
    _, row = time_row(b, "?rule=any")
    assert row[1] == "2 (100.0%) of 2" and row[3] == "1"
    assert b.get("/coding/post/results?rule=most").status_code == 400
    assert b.get("/coding/nope/results").status_code == 404
