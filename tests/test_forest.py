"""The trial's forest chart and study page: several outcomes at once, the native workbook chart, the SVG, the page.

The workbook chart is followed to its cells (numbers only, `test_chart_ranges.check_charts`) and its plotted
estimate and error bars are compared with the comparison's ANCOVA estimates; the SVG is parsed with xml.etree and
every point and whisker mapped back to the estimate it stands for; the study page's tables, chart data and SVG
are compared with `studies compare`'s printed tables. The trial is `test_studies`' generated 70 + 70.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from auth_helpers import LEAD, PASSWORD
from auth_helpers import log_in as post_log_in
from openpyxl import load_workbook
from test_chart_ranges import check_charts
from test_results_pages import charts, page_tables
from test_studies import ARMS, generated_answers, make_trial, ok, seventy_seventy_seed, write_wave

from exports.forest import MINUS, forest
from exports.svgcharts import FOREST_PLOT, MARGIN, NAMES, forest_svg, forest_x
from exports.trial import Comparison, Participant, compare, pre_post
from surveyapp.auth.models import create_user
from surveyapp.db import new_session
from surveyapp.studies.analysis import compare_outcomes
from surveyapp.studies.models import Study
from surveyapp.studies.store import find_wave

SVG = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert('x')</script>&\"burnout\""
OUTCOMES = ("burnout", "fulfillment", "exhaustion", "disengagement")


def generated(effect: float, seed: int) -> list[Participant]:
    rng = np.random.default_rng(seed)
    rows = []
    for arm, shift in (("coaching", effect), ("control", 0.0)):
        for _ in range(40):
            base = float(rng.normal(1.6, 0.6))
            rows.append(Participant(arm, base, base + shift + float(rng.normal(0, 0.4))))
    return rows


def svg_estimates(svg: ET.Element) -> dict[str, dict[str, float]]:
    """Return each drawn row's data and geometry: the value it says, and where its point and whisker are."""
    found = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") != "estimate":
            continue
        whisker = next(x for x in g.iter(f"{SVG}line") if x.get("class") == "whisker")
        point = next(g.iter(f"{SVG}rect"))
        found[g.get("data-outcome") or ""] = {
            "value": float(g.get("data-value") or "nan"), "low": float(g.get("data-low") or "nan"),
            "high": float(g.get("data-high") or "nan"), "x1": float(whisker.get("x1") or "nan"),
            "x2": float(whisker.get("x2") or "nan"), "point": float(point.get("x") or "nan") + 5,
            "text": next(t for t in g.iter(f"{SVG}text") if t.get("class") == "figures").text or ""}
    return found


def test_svg_points_and_whiskers_are_the_estimates() -> None:
    results = [(name, compare(generated(effect, seed), list(ARMS)))
               for name, effect, seed in (("burnout", -0.8, 1), ("fulfillment", 0.5, 2), ("engagement", 0.0, 3))]
    chart = forest(results)
    svg = ET.fromstring(str(forest_svg(chart, "f")))
    assert svg.get("role") == "img" and "style" not in str(forest_svg(chart, "f"))
    assert "ANCOVA" in (svg.findtext(f"{SVG}desc") or "") and "coaching minus control" in chart.measure
    low, high, _ = chart.axis()
    assert low <= min(r.adjusted_difference.low for _, r in results) and high >= 0.5
    drawn = svg_estimates(svg)
    assert list(drawn) == [name for name, _ in results]
    for name, result in results:
        assert isinstance(result, Comparison)
        e, d = result.adjusted_difference, drawn[name]
        assert (d["value"], d["low"], d["high"]) == (e.value, e.low, e.high)
        # the geometry, mapped back through the axis: the plot spans [low, high] over FOREST_PLOT pixels
        back = {k: low + (d[k] - MARGIN - NAMES) / FOREST_PLOT * (high - low) for k in ("x1", "point", "x2")}
        assert back["x1"] == pytest.approx(e.low, abs=0.01) and back["x2"] == pytest.approx(e.high, abs=0.01)
        assert back["point"] == pytest.approx(e.value, abs=0.01)
        assert d["text"] == f"{e.value:.2f} ({e.low:.2f} to {e.high:.2f})".replace("-", MINUS)
    zero = next(x for x in svg.iter(f"{SVG}line") if x.get("class") == "zero")
    assert float(zero.get("x1") or "nan") == forest_x(chart, 0.0)
    # burnout's CI lies left of 0, fulfillment's right: the chart shows it
    assert drawn["burnout"]["x2"] < forest_x(chart, 0.0) < drawn["fulfillment"]["x1"]


def test_svg_escapes_outcome_names() -> None:
    rows = generated(-0.5, 4)
    chart = forest([(XSS, compare(rows, list(ARMS))), ("burnout", compare(rows, list(ARMS)))])
    markup = str(forest_svg(chart, "x"))
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    svg = ET.fromstring(markup)  # well-formed: nothing broke out of an attribute or a text
    drawn = svg_estimates(svg)
    assert set(drawn) == {XSS, "burnout"}  # the name reads back exactly as written, as text
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "burnout" in texts  # control: a plain name is drawn as it is


def test_one_group_chart_shows_the_mean_change_and_says_so() -> None:
    rows = generated(-0.4, 5)
    result = pre_post((p.baseline, p.follow_up) for p in rows)
    chart = forest([("burnout", result)])
    assert chart.measure.startswith("Mean change, follow-up minus baseline (paired)")
    assert "no between-arm difference" in chart.measure and chart.rows[0].estimate == result.summary.change
    drawn = svg_estimates(ET.fromstring(str(forest_svg(chart, "p"))))
    assert drawn["burnout"]["value"] == result.summary.change.value


def cli_tables(output: str, titles: list[str]) -> dict[str, list[list[str]]]:
    """Return each printed table's header and rows, cells split where `echo_table` pads them."""
    lines = output.splitlines()
    found = {}
    for title in titles:
        start = lines.index(title) + 1
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("Complete-case"))
        found[title] = [re.split(r"\s{2,}", line.strip()) for line in lines[start:end]]
    return found


def test_studies_compare_several_outcomes_workbook_and_page(app, runner, tmp_path):
    arms = make_trial(runner, tmp_path, seventy_seventy_seed())
    waves = generated_answers(arms)
    for number in (1, 2):
        ok(runner, "import", f"coach-w{number}", str(write_wave(tmp_path / f"w{number}.csv", waves[number])))
    out = tmp_path / "trial.xlsx"
    args = [a for o in OUTCOMES for a in ("--outcome", o)]
    shown = ok(runner, "studies", "compare", "coach", *args, "--out", str(out)).output
    with app.app_context(), new_session() as db:
        study = db.get(Study, "coach")
        found = compare_outcomes(db, study, find_wave(db, study, None, 1), find_wave(db, study, None, 2),
                                 list(OUTCOMES))
    results = dict(found.results)
    assert list(results) == list(OUTCOMES)
    for outcome, result in results.items():
        assert isinstance(result, Comparison) and result.arms[0].arm == "coaching"  # the randomization's order
        e = result.adjusted_difference
        assert f"{outcome}: change from baseline by arm" in shown and e.text() in shown

    # The workbook: a Summary sheet whose chart reads numbers only, plotting the ANCOVA estimates and CIs.
    figures = check_charts(out)
    assert figures["charts"] == 1 and figures["points"] == len(OUTCOMES) + 2  # + the two ends of the 0 line
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Comparison"]
    ws = wb["Summary"]
    (chart,) = ws._charts
    plotted = chart.series[:-1]
    assert len(plotted) == len(OUTCOMES) and chart.series[-1].errBars is None

    def at(ref: str) -> object:
        sheet, cell = ref.replace("$", "").split("!")
        return wb[sheet.strip("'")][cell].value

    for series, outcome in zip(plotted, OUTCOMES, strict=True):
        e = results[outcome].adjusted_difference  # type: ignore[union-attr]
        x = at(series.xVal.numRef.f)
        assert x == pytest.approx(e.value, abs=1e-12)
        assert x - at(series.errBars.minus.numRef.f) == pytest.approx(e.low, abs=1e-12)  # type: ignore[operator]
        assert x + at(series.errBars.plus.numRef.f) == pytest.approx(e.high, abs=1e-12)  # type: ignore[operator]
        label = at(series.tx.strRef.f)
        assert label == f"{outcome}: {e.text().replace('-', MINUS)}"
    zero = chart.series[-1]
    ends = [ws[c].value for c in zero.xVal.numRef.f.split("!")[1].replace("$", "").split(":")]
    assert ends == [0, 0]
    comparison_cells = [c for row in wb["Comparison"].iter_rows(values_only=True) for c in row if c is not None]
    assert all(f"{o}: change from baseline by arm" in comparison_cells for o in OUTCOMES)

    # The page: anonymous visitors go to the log-in; the team sees the same figures as the command.
    anonymous = app.test_client()
    page_url = "/admin/studies/coach?" + "&".join(f"outcome={o}" for o in OUTCOMES)
    away = anonymous.get(page_url)
    assert away.status_code == 302 and "/login" in away.headers["Location"]
    assert anonymous.get("/admin/studies").status_code == 302
    with app.app_context(), new_session() as s:
        create_user(s, LEAD, PASSWORD, "Lead")
        s.commit()
    client = app.test_client()
    assert post_log_in(client).status_code == 302
    page = client.get(page_url)
    assert page.status_code == 200
    assert "coach" in client.get("/admin/studies").text
    tables = page_tables(page.text)
    titles = [f"{o}: change from baseline by arm" for o in OUTCOMES]
    printed = cli_tables(shown, titles)
    for title in titles:
        on_page = [[c for c in row if c] for row in tables[title]]
        assert on_page == printed[title], title
    waves_table = tables["Responses per wave and arm"]
    assert waves_table[1][:3] == ["1 (baseline)", "coach-w1", "140"]
    assert waves_table[2][2:] == ["126", "63", "7 (10.0%)", "63", "7 (10.0%)"]
    data = {row[0]: row for row in tables["Data of the chart: Difference between arms by outcome"][1:]}
    (svg,) = charts(page.text)
    drawn = svg_estimates(svg)
    for outcome in OUTCOMES:
        e = results[outcome].adjusted_difference  # type: ignore[union-attr]
        assert data[outcome][2] == e.text() and e.text() in shown
        assert (drawn[outcome]["value"], drawn[outcome]["low"], drawn[outcome]["high"]) == (e.value, e.low, e.high)
    assert "@" not in page.text.replace(LEAD, "")  # nothing of the key table's addresses

    assert "Wave 1 (baseline) to wave 2 (3 months)." in page.text

    # Bad input: an unknown outcome or wave is one clear message, not a traceback.
    bad = client.get("/admin/studies/coach?outcome=nope")
    assert bad.status_code == 400 and "No score &#39;nope&#39;" in bad.text
    bad = client.get("/admin/studies/coach?outcome=burnout&follow_up=9")
    assert bad.status_code == 400 and "has no wave &#39;9&#39;" in bad.text
    assert client.get("/admin/studies/none").status_code == 404


def test_trial_waves_workbook_has_the_forest(runner, tmp_path: Path) -> None:
    rows = generated(-0.6, 6)
    base, follow = tmp_path / "w1.csv", tmp_path / "w2.csv"
    base.write_text("id,arm,burnout\n" + "".join(f"p{i},{p.arm},{p.baseline}\n" for i, p in enumerate(rows)))
    follow.write_text("id,arm,burnout\n" + "".join(f"p{i},{p.arm},{p.follow_up}\n" for i, p in enumerate(rows)))
    out = tmp_path / "waves.xlsx"
    ok(runner, "trial", "waves", str(base), str(follow), "--outcome", "burnout", "--id", "id", "--arm", "arm",
       "--arms", "coaching,control", "--out", str(out))
    assert check_charts(out)["points"] == 3
    expected = compare(rows, list(ARMS)).adjusted_difference
    summary = load_workbook(out)["Summary"]
    row = next(r for r in summary.iter_rows(values_only=True) if r[0] == "burnout")
    assert row[1:4] == pytest.approx((expected.value, expected.low, expected.high), abs=1e-9)
