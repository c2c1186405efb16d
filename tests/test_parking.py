"""Sealed drafts and parked answers: nothing readable in the database, nothing lost between parking and mixing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from smtp_server import link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import func, select
from survey_setup import marker_instruments

import surveyapp.invitations.parking as parking
from surveyapp.db import new_session
from surveyapp.models import Draft, Invitation, ParkedAnswer, Response, Survey

from conftest import csrf_from, make_test_app

SLUG = "parked"


@pytest.fixture
def papp(database_url, tmp_path, smtp):  # noqa: F811
    folder = marker_instruments(tmp_path, "parked")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder), SURVEYKIT_MIX_BATCH=3,
                        **smtp.config())
    runner = app.test_cli_runner()
    assert runner.invoke(args=["surveys", "create", "parked", "--id", SLUG, "--title", "P", "--mode",
                               "invitation"]).exit_code == 0
    roster = tmp_path / "roster.csv"
    roster.write_text("email,department\n" + "".join(f"p{i}@hospital.example,EM\n" for i in range(6)), "utf-8")
    assert runner.invoke(args=["surveys", "invite", SLUG, str(roster), "--today",
                               dt.date.today().isoformat()]).exit_code == 0
    app.config["links"] = ["/" + link_in(m).split("/", 3)[3] for m in smtp.handler.messages]
    yield app
    app.extensions["surveykit.engine"].dispose()


def walk(app, entry: str, note: str, marker: str | None, thanked: bool = True):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.get(entry).status_code == 302
    intro = client.get(f"/s/{SLUG}")
    page = client.post(f"/s/{SLUG}/start", data={"csrf_token": csrf_from(intro.text)}, follow_redirects=True)
    page = client.post(page.request.path, data={"csrf_token": csrf_from(page.text), "action": "next", "note": note},
                       follow_redirects=True)
    if marker is not None:
        page = client.post(page.request.path, data={"csrf_token": csrf_from(page.text), "action": "next",
                                                     "marker": marker}, follow_redirects=True)
        assert ("Thank you" in page.text) is thanked
    return client


def rows(app, model) -> list:  # type: ignore[no-untyped-def]
    with app.app_context(), new_session() as s:
        return list(s.scalars(select(model)))


def test_a_draft_holds_ciphertext_only_and_opens_only_in_its_browser(papp):
    client = walk(papp, papp.config["links"][0], "secret-note-text", None)
    [draft] = rows(papp, Draft)
    stored = bytes(draft.sealed)
    assert b"secret-note-text" not in stored and b"note" not in stored
    assert not any(i.key.encode() in stored for i in rows(papp, Invitation))
    assert len(stored) == 12 + 16 + 4096  # one padded size, whatever the answers
    # The same browser resumes it; another browser (no key) starts afresh.
    page = client.get(f"/s/{SLUG}/p/first")
    assert page.status_code == 200 and "secret-note-text" in page.text
    other = papp.test_client()
    assert other.get(f"/s/{SLUG}/p/first").status_code in (302, 403)


def test_answers_wait_parked_until_a_batch_and_a_crash_in_mixing_loses_none(papp, monkeypatch):
    links = papp.config["links"]
    for n in range(2):
        walk(papp, links[n], "n", f"answer-m{n}")
    assert len(rows(papp, ParkedAnswer)) == 2 and rows(papp, Response) == []
    assert all(b"answer-m" not in bytes(p.sealed) for p in rows(papp, ParkedAnswer))

    # The third answer fills the batch, and the mixer dies half-way: its transaction goes, the parked stay.
    def broken_shuffle(sheets):  # type: ignore[no-untyped-def]
        raise RuntimeError("killed while mixing")

    monkeypatch.setattr(parking, "_shuffle", broken_shuffle)
    walk(papp, links[2], "n", "answer-m2", thanked=False)  # the process died: no thank-you page
    assert len(rows(papp, ParkedAnswer)) == 3 and rows(papp, Response) == []
    monkeypatch.undo()
    # Idempotent: the next chance mixes the three, once.
    with papp.app_context(), new_session() as s:
        survey = s.get(Survey, SLUG)
        assert parking.mix(s, survey) == 3 and parking.mix(s, survey) == 0
    assert sorted(r.answers["marker"] for r in rows(papp, Response)) == ["answer-m0", "answer-m1", "answer-m2"]
    assert rows(papp, ParkedAnswer) == []
    # A fourth waits; close stores it and retires the key.
    walk(papp, links[3], "n", "m3")
    key_file = Path(papp.instance_path) / "parking" / f"{SLUG}.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    closed = papp.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    assert closed.exit_code == 0 and "(4 responses)" in closed.output, closed.output
    assert not key_file.exists() and rows(papp, ParkedAnswer) == [] and rows(papp, Draft) == []


def test_parked_answers_without_their_key_are_kept_and_named(papp):
    walk(papp, papp.config["links"][0], "n", "m0")
    (Path(papp.instance_path) / "parking" / f"{SLUG}.key").unlink()
    closed = papp.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    assert closed.exit_code == 1 and "parking key" in closed.output and "missing" in closed.output
    with papp.app_context(), new_session() as s:
        assert s.scalar(select(func.count()).select_from(ParkedAnswer)) == 1  # kept for when the key is back


def test_close_leaves_no_copy_of_erased_addresses_in_the_sqlite_files(papp, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's WAL is outside the application (README: an operator matter)")
    walk(papp, papp.config["links"][0], "n", "m0")
    walk(papp, papp.config["links"][1], "draft-left-behind", None)
    path = Path(database_url.split("///", 1)[1])
    wal = Path(f"{path}-wal")
    before = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"p5@hospital.example" in before  # the control: the address is there while open
    closed = papp.test_cli_runner().invoke(args=["surveys", "close", SLUG])
    assert closed.exit_code == 0, closed.output
    after = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"@hospital.example" not in after
    assert not wal.exists() or wal.stat().st_size == 0
    assert b'"m0"' in after  # the answer itself stays


def test_db_scrub_rewrites_the_database(papp):
    walk(papp, papp.config["links"][0], "n", None)
    done = papp.test_cli_runner().invoke(args=["db", "scrub"])
    assert done.exit_code == 0 and "database scrubbed" in done.output, done.output
