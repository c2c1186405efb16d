"""A double-clicked last page: two concurrent POSTs of the same form, from the same browser.

Both get the thank-you page (a 302 to it), never a 5xx, and exactly one answer is stored — in open mode and in
invitation mode (where the second click finds its invitation already answered), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import func, select
from survey_setup import marker_instruments

from surveyapp.db import new_session
from surveyapp.models import ParkedAnswer, Response

from conftest import csrf_from, make_test_app

PAIRS = 8


def build(database_url: str, tmp_path: Path, **extra: Any) -> Flask:
    folder = marker_instruments(tmp_path, "twoclicks")
    return make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder), **extra)


def stored(app: Flask, slug: str, marker: str) -> int:
    """Count the answers carrying *marker*, responses and parked alike (parked ones are counted after close)."""
    with app.app_context(), new_session() as s:
        rows = s.scalars(select(Response.answers).where(Response.survey_slug == slug)).all()
        parked = s.scalar(select(func.count()).select_from(ParkedAnswer).where(ParkedAnswer.survey_slug == slug))
    assert parked == 0, "close mixes every parked answer"
    return sum(1 for answers in rows if answers.get("marker") == marker)


def double_click(app: Flask, slug: str, entry: str, marker: str) -> list[tuple[int, str]]:
    """Walk to the last page in one browser, then post it twice at once; return (status, Location) of both."""
    first = app.test_client()
    if entry.startswith("/i/"):
        assert first.get(entry).status_code == 302
    intro = first.get(f"/s/{slug}")
    page = first.post(f"/s/{slug}/start", data={"csrf_token": csrf_from(intro.text)}, follow_redirects=True)
    page = first.post(page.request.path, data={"csrf_token": csrf_from(page.text), "action": "next", "note": "x"},
                      follow_redirects=True)
    assert page.request.path.endswith("/p/last"), page.request.path
    form = {"csrf_token": csrf_from(page.text), "action": "next", "marker": marker}
    second = app.test_client()
    cookie = first.get_cookie("session")
    assert cookie is not None
    second.set_cookie("session", cookie.value)
    barrier = threading.Barrier(2)
    results: list[tuple[int, str]] = []

    def click(client: Any) -> None:
        barrier.wait()
        answer = client.post(page.request.path, data=form)
        results.append((answer.status_code, answer.headers.get("Location", "")))

    threads = [threading.Thread(target=click, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("mode", ["open", "invitation"])
def test_a_double_clicked_last_page_thanks_both_and_stores_one(database_url, tmp_path, smtp, mode):  # noqa: F811
    app = build(database_url, tmp_path, **smtp.config())
    runner = app.test_cli_runner()
    slug = f"twice-{mode}"
    made = runner.invoke(args=["surveys", "create", "twoclicks", "--id", slug, "--title", "Twice", "--mode", mode])
    assert made.exit_code == 0, made.output
    entries = [f"/s/{slug}"] * PAIRS
    if mode == "invitation":
        roster = tmp_path / "roster.csv"
        roster.write_text("email,department\n" + "".join(f"d{i}@hospital.example,EM\n" for i in range(PAIRS)),
                          encoding="utf-8")
        sent = runner.invoke(args=["surveys", "invite", slug, str(roster), "--today", dt.date.today().isoformat()])
        assert sent.exit_code == 0, sent.output
        entries = ["/" + link_in(m).split("/", 3)[3] for m in smtp.handler.messages]
    outcomes = [double_click(app, slug, entry, f"pair-{i}") for i, entry in enumerate(entries)]
    closed = runner.invoke(args=["surveys", "close", slug])
    assert closed.exit_code == 0, closed.output
    counts = [stored(app, slug, f"pair-{i}") for i in range(PAIRS)]
    errors = sum(1 for pair in outcomes for status, _ in pair if status >= 500)
    print(f"double click [{database_url.split(':')[0]}] {mode}: {PAIRS} pairs, 5xx {errors}, stored {counts}")
    app.extensions["surveykit.engine"].dispose()
    for pair in outcomes:
        assert sorted(status for status, _ in pair) == [302, 302], pair
        assert all(location.endswith(f"/s/{slug}/thanks") for _, location in pair), pair
    assert counts == [1] * PAIRS
