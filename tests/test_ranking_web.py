"""A ranking question through the app: answered on the respondent pages without JavaScript, imported, exported."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.models import Response

from conftest import make_test_app
from respondent import Respondent

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def ranking_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(DATA / "instruments"))
    result = app.test_cli_runner().invoke(args=["surveys", "create", "priorities", "--id", "prio", "--title", "P"])
    assert result.exit_code == 0, result.output
    yield app
    app.extensions["surveykit.engine"].dispose()


def stored(app: Flask) -> list[dict]:
    with app.app_context(), new_session() as session:
        return [r.answers for r in session.scalars(select(Response)).all()]


def test_respondent_ranks_with_one_select_per_rank(ranking_app):
    r = Respondent(ranking_app.test_client(), "prio")
    r.start()
    page = r.answer({"unit": "ward_b"})
    assert r.section == "support_page"
    html = page.text
    # Accessible without JavaScript: a fieldset with the question as legend, a labelled select per rank.
    assert re.search(r'<fieldset class="ranking"[^>]*>\s*<legend>Rank these kinds of support', html)
    for rank, word in ((1, "1st"), (2, "2nd"), (3, "3rd")):
        assert f'<label for="support-rank{rank}">{word} choice</label>' in html
        assert f'<select name="support__rank{rank}" id="support-rank{rank}"' in html
    assert 'name="support__rank4"' not in html  # max_ranks: 3
    assert html.count('<option value="peer_support"') == 3

    gap = r.answer({"support__rank1": "training", "support__rank3": "time_off"})
    assert gap.history[0].status_code == 303
    assert "Fill the ranks in order from the 1st choice, leaving no gaps." in gap.text
    # What was posted comes back selected, to be put right.
    assert re.search(r'id="support-rank3".*?<option value="time_off" selected>', gap.text, re.S)
    twice = r.answer({"support__rank1": "training", "support__rank2": "training"})
    assert twice.history[0].status_code == 303 and "Rank each option at most once." in twice.text
    empty = r.answer({})
    assert empty.history[0].status_code == 303 and "Rank at least one option." in empty.text

    done = r.answer({"support__rank1": "time_off", "support__rank2": "peer_support", "why_peer": "Quick"})
    assert "Thank you" in done.text
    assert stored(ranking_app) == [{"unit": "ward_b", "support": ["time_off", "peer_support"], "why_peer": "Quick"}]


def test_qualtrics_rank_order_file_imports_then_exports(ranking_app, tmp_path):
    runner = ranking_app.test_cli_runner()
    result = runner.invoke(args=["import", "prio", str(DATA / "imports" / "qualtrics-ranking.csv"),
                                 "--skip-invalid", "--report", str(tmp_path / "report.csv")])
    assert result.exit_code == 0, result.output
    assert "imported 4 responses" in result.output
    assert "left out 1 preview/test/spam rows" in result.output
    assert "skipped 3 invalid rows" in result.output
    assert sorted(a["support"] for a in stored(ranking_app)) == [
        ["counselling", "time_off", "peer_support"], ["counselling", "training"],
        ["peer_support", "counselling", "time_off"], ["time_off", "peer_support"]]

    out = tmp_path / "prio.xlsx"
    result = runner.invoke(args=["export", "prio", "--out", str(out), "--no-suppression"])
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(out)["Support"].iter_rows(values_only=True))
    body = {r[0]: r[1:6] for r in rows if r[0] in ("Peer support", "Counselling", "Time off", "Training")}
    assert body["Counselling"] == (3, 75, "3 (75.0%)", 1.33, "2 (50.0%)")
    assert body["Training"] == (1, 25, "1 (25.0%)", 2, "0 (0.0%)")
