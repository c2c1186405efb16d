"""Scale-out on loopback: two app processes and one `surveykit worker` on one PostgreSQL schema, Redis as broker.

Each app is its own gunicorn (as two hosts would be), sharing nothing but the database and the broker:

* respondents spread over both apps: every acknowledged answer is stored once (closed and exported, as in
  test_kill9);
* reminders asked for from both apps' pages at once and by cron's `surveykit surveys remind --due` at the same
  time (the worker runs two jobs at once): the SMTP server on loopback gets exactly one reminder per invitee;
* the coding assistant seen from both apps: the project is fitted once per change (the stored fit counter), and
  both apps serve that fit.

Needs PostgreSQL (SURVEYKIT_TEST_POSTGRES_URL: two hosts cannot share a SQLite file) and Redis on
127.0.0.1:6379 (or SURVEYKIT_TEST_BROKER_URL); skipped with the reason otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servers import gunicorn, stop
from smtp_server import SmtpServer, link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import select
from test_assist_web import PASSWORD, A, import_synthetic, screen
from test_kill9 import INSTRUMENT, Browser, Tally, exported_markers

from coding import projects as P
from coding.assist_fits import INDEX, fit_count
from coding.assist_project import CONSENSUS
from surveyapp import db
from surveyapp.auth.models import create_user
from surveyapp.models import Job

from conftest import CSRF_RE, make_test_app

BROKER = os.environ.get("SURVEYKIT_TEST_BROKER_URL", "redis://127.0.0.1:6379/0")
INVITEES = 30
ANSWERS = 16
SURVEYKIT = Path(sys.executable).with_name("surveykit")
FITTED = "coded units you may see)"  # the panel's words once a suggester's fit is served


def _redis_answers() -> bool:
    where = urllib.parse.urlsplit(BROKER)
    try:
        with socket.create_connection((where.hostname or "127.0.0.1", where.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def worker(env: dict[str, str], folder: Path) -> Iterator[Path]:
    """Run `surveykit worker --concurrency 2` until the block ends; yield its log."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "worker.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen([str(SURVEYKIT), "worker", "--concurrency", "2"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(encoding="utf-8", errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(encoding="utf-8")
            time.sleep(0.2)
        yield log
    finally:
        stop(process, timeout=30)


def until(check: Callable[[], bool], what: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.5)


def logged_in(base: str, email: str) -> Browser:
    browser = Browser(base, Tally())
    page = browser.request("/auth/login")
    assert page is not None
    done = browser.request("/auth/login", {"csrf_token": CSRF_RE.search(page[1]).group(1),  # type: ignore[union-attr]
                                           "email": email, "password": PASSWORD})
    assert done is not None and "/auth/login" not in done[0], "log-in failed"
    return browser


def press(browser: Browser, slug: str, button: str) -> str:
    """Press a survey page's button (invite, remind) the way the browser would; return the page after it."""
    page = browser.request(f"/admin/s/{slug}")
    assert page is not None
    done = browser.request(f"/admin/s/{slug}/{button}", {"csrf_token": CSRF_RE.search(page[1]).group(1)})  # type: ignore[union-attr]
    assert done is not None
    return done[1]


def test_two_apps_and_one_worker_share_one_database(database_url, tmp_path, smtp):  # noqa: F811
    if database_url.startswith("sqlite"):
        pytest.skip("scale-out needs PostgreSQL: two app hosts cannot share one SQLite file")
    if not _redis_answers():
        pytest.skip(f"scale-out needs the Redis broker at {BROKER} (set SURVEYKIT_TEST_BROKER_URL)")
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "killload.yaml").write_text(INSTRUMENT, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder), SURVEYKIT_BROKER_URL=BROKER,
                        SURVEYKIT_ASSIST_BACKEND="tfidf", **smtp.config())
    runner = app.test_cli_runner()
    made = runner.invoke(args=["surveys", "create", "killload", "--id", "scale", "--title", "Scale", "--mode", "open",
                               "--reminder-days", "0"])
    assert made.exit_code == 0, made.output
    roster = tmp_path / "roster.csv"
    roster.write_text("email,department\n" + "".join(f"p{i:03d}@hospital.example,EM\n" for i in range(INVITEES)),
                      encoding="utf-8")
    sent = runner.invoke(args=["surveys", "invite", "scale", str(roster), "--today", dt.date.today().isoformat()])
    assert sent.exit_code == 0, sent.output
    assert len(smtp.handler.messages) == INVITEES
    smtp.handler.clear()
    with app.app_context(), db.new_session() as s:
        create_user(s, A, PASSWORD, "Coder A")
        s.commit()
    import_synthetic(runner, tmp_path, ["The food was cold and the menu had no vegetarian meals, tea was cold."])
    with app.app_context(), db.new_session() as s:
        project_id = P.get_project(s, "syn").id
    coding_screen = screen(app, "syn", "new0")

    env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
           "SURVEYKIT_INSTRUMENTS_DIR": str(folder), "SURVEYKIT_BROKER_URL": BROKER,
           "SURVEYKIT_ASSIST_BACKEND": "tfidf", **{k: str(v) for k, v in smtp.config().items()},
           # Served over http on loopback: an https base URL would make the cookies Secure, never sent back here.
           "SURVEYKIT_BASE_URL": "http://127.0.0.1:5000"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    acknowledged: Counter[str] = Counter()
    with (worker(env, tmp_path / "worker") as worker_log, gunicorn(env, tmp_path / "a", ready="/s/scale") as one,
          gunicorn(env, tmp_path / "b", ready="/s/scale") as two):
        bases = [one.base, two.base]

        # Respondents over both apps.
        tally = Tally()

        def respond(n: int) -> None:
            marker = f"scale-{n}-{uuid.uuid4().hex}"
            base = bases[n % 2]
            if Browser(base, tally).complete("/s/scale", marker):
                with tally.lock:
                    tally.acknowledged.append(marker)
                    acknowledged[base] += 1

        threads = [threading.Thread(target=respond, args=(n,)) for n in range(ANSWERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert acknowledged == {one.base: ANSWERS // 2, two.base: ANSWERS // 2}, tally

        # Reminders: both apps' pages and cron at once.
        pages = [logged_in(base, A) for base in bases]
        cron = subprocess.Popen([str(SURVEYKIT), "surveys", "remind", "--due"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        pressed = [threading.Thread(target=press, args=(page, "scale", "remind")) for page in pages]
        for t in pressed:
            t.start()
        for t in pressed:
            t.join(60)
        cron_out, _ = cron.communicate(timeout=120)
        assert cron.returncode == 0, cron_out

        def reminders_done() -> bool:
            with app.app_context(), db.new_session() as s:
                return not s.scalars(select(Job.id).where(Job.state.in_(("queued", "running")))).first()

        until(reminders_done, "the reminder jobs end")
        recipients = smtp.handler.to()
        assert sorted(recipients) == sorted(f"p{i:03d}@hospital.example" for i in range(INVITEES)), recipients
        assert all(link_in(m).startswith("http://127.0.0.1:5000/") for m in smtp.handler.messages)
        shown = pages[0].request("/admin/s/scale")
        assert shown is not None and "Background sending of reminders:" in shown[1]

        # The assistant: one fit per change, served by both apps.
        coders = [logged_in(base, A) for base in bases]

        def both_serve_a_fit() -> bool:
            return all(FITTED in (c.request(coding_screen) or ("", ""))[1] for c in coders)

        until(both_serve_a_fit, "both apps serve the fitted suggester")
        with app.app_context(), db.new_session() as s:
            assert fit_count(s, project_id) == {INDEX: 1, (A, CONSENSUS): 1}
            project = P.get_project(s, "syn")
            P.add_units(s, project, [P.NewUnit("import:late", "The tea was cold again.", label="late")])
            s.commit()

        def refitted() -> bool:
            for c in coders:
                c.request(coding_screen)
            with app.app_context(), db.new_session() as s:
                return fit_count(s, project_id) == {INDEX: 2, (A, CONSENSUS): 2}

        until(refitted, "the change is fitted")
        for _ in range(3):  # both apps look again (each looks every 2 s): nothing more to fit
            time.sleep(2.5)
            assert both_serve_a_fit()
        with app.app_context(), db.new_session() as s:
            assert fit_count(s, project_id) == {INDEX: 2, (A, CONSENSUS): 2}
        log = worker_log.read_text(encoding="utf-8", errors="replace")

    assert "surveykit.run" in log  # the jobs ran in the worker, not in the apps
    stored = exported_markers(app, "scale", tmp_path)
    app.extensions["surveykit.engine"].dispose()
    assert sorted(stored.elements()) == sorted(tally.acknowledged)  # each answer stored once, none lost
