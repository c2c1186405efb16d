"""kill -9 under load (harden suite): no acknowledged answer lost, none stored twice.

gunicorn serves the app with 2 workers on SQLite and on PostgreSQL. Client threads complete an open-mode and
an invitation-mode survey over HTTP, as browsers would (a request cut off by a kill is sent again, up to three
times, as a person presses the button again), while a killer thread SIGKILLs a random worker about every
second for SURVEYKIT_HARDEN_KILL9_SECONDS (default 15). Every answer carries a unique marker in a text question.
An answer is *acknowledged* when its client got the thank-you page.

The stored answers are counted the way an investigator gets them, whatever the storage does on the way: the
server is stopped, `surveykit surveys close` runs (which would mix answers still waiting into the responses),
and `surveykit export --out x.csv` writes the raw data, whose marker column is read back. Lost: acknowledged
and not exported; duplicates: a marker exported more than once.
"""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from servers import gunicorn
from smtp_server import SmtpServer, link_in, smtp  # noqa: F401  (fixture)

from exports.tabular.text import csv_unescape

from conftest import CSRF_RE, make_test_app

pytestmark = pytest.mark.harden

SECONDS = float(os.environ.get("SURVEYKIT_HARDEN_KILL9_SECONDS", "15"))
THREADS_PER_MODE = 2
INVITEES = 80
INSTRUMENT = """
id: killload
version: 1
title: Load under kill -9
sections:
  - id: first
    questions:
      - {id: note, type: text, text: A note}
  - id: second
    questions:
      - {id: marker, type: text, text: The marker}
"""
CUT_OFF = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError)


@dataclass
class Tally:
    acknowledged: list[str] = field(default_factory=list)
    abandoned: int = 0
    errors_5xx: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Browser:
    """One respondent's browser: cookies, redirects followed, a cut-off request sent again (3 tries)."""

    def __init__(self, base: str, tally: Tally) -> None:
        self.base = base
        self.tally = tally
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[str, str] | None:
        """Return (final path, page) for GET *path* (or POST *form*), or None when every try was cut off."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        for _ in range(3):
            try:
                with self.opener.open(self.base + path, data=data, timeout=20) as response:
                    return urllib.parse.urlsplit(response.geturl()).path, response.read().decode()
            except urllib.error.HTTPError as error:
                error.close()
                if error.code >= 500:
                    with self.tally.lock:
                        self.tally.errors_5xx += 1
                    continue
                return None
            except CUT_OFF:
                time.sleep(0.05)
        return None

    def complete(self, entry: str, marker: str) -> bool:
        """Answer the survey from *entry* (/s/<slug> or /i/<token>); True once the thank-you page came."""
        intro = self.request(entry)
        if intro is None or not CSRF_RE.search(intro[1]):
            return False
        path, page = intro
        step = self.request(path.rstrip("/") + "/start", {"csrf_token": CSRF_RE.search(page).group(1)})  # type: ignore[union-attr]
        for answers in ({"note": "under load"}, {"marker": marker}):
            if step is None or not CSRF_RE.search(step[1]):
                return False
            path, page = step
            step = self.request(path, {"csrf_token": CSRF_RE.search(page).group(1), "action": "next",  # type: ignore[union-attr]
                                       **answers})
        return step is not None and "Thank you" in step[1]


def respondents(base: str, entries: list[str], mode: str, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            entry = entries.pop()
        except IndexError:
            return
        marker = f"kill9-{mode}-{uuid.uuid4().hex}"
        if Browser(base, tally).complete(entry, marker):
            with tally.lock:
                tally.acknowledged.append(marker)
        else:
            with tally.lock:
                tally.abandoned += 1


def killer(served: Any, stop: threading.Event, kills: list[int]) -> None:
    rng = random.Random(9)
    while not stop.wait(rng.uniform(0.7, 1.3)):
        workers = served.workers()
        if workers:
            try:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills.append(1)
            except ProcessLookupError:
                pass


def exported_markers(app: Any, slug: str, folder: Path) -> Counter[str]:
    runner = app.test_cli_runner()
    closed = runner.invoke(args=["surveys", "close", slug])
    assert closed.exit_code == 0, closed.output
    out = folder / f"{slug}.csv"
    done = runner.invoke(args=["export", slug, "--out", str(out)])
    assert done.exit_code == 0, done.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("marker")
    return Counter(csv_unescape(row[column]) for row in rows[1:] if row[column])


def test_kill9_under_load_loses_no_acknowledged_answer(database_url, tmp_path, smtp):  # noqa: F811
    folder = tmp_path / "instruments"
    folder.mkdir()
    (folder / "killload.yaml").write_text(INSTRUMENT, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder), **smtp.config())
    runner = app.test_cli_runner()
    for slug, mode in (("kill-open", "open"), ("kill-invite", "invitation")):
        made = runner.invoke(args=["surveys", "create", "killload", "--id", slug, "--title", "Load", "--mode", mode])
        assert made.exit_code == 0, made.output
    roster = tmp_path / "roster.csv"
    roster.write_text("email,department\n" + "".join(f"p{i:04d}@hospital.example,EM\n" for i in range(INVITEES)),
                      encoding="utf-8")
    sent = runner.invoke(args=["surveys", "invite", "kill-invite", str(roster), "--today", dt.date.today().isoformat()])
    assert sent.exit_code == 0, sent.output
    tokens = ["/" + link_in(m).split("/", 3)[3] for m in smtp.handler.messages]
    assert len(tokens) == INVITEES

    env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
           "SURVEYKIT_INSTRUMENTS_DIR": str(folder),
           # Invitation-mode answers are parked, then mixed in batches: batches of 2 put mixing under the kills too.
           "SURVEYKIT_MIX_BATCH": "2"}
    tallies = {"open": Tally(), "invitation": Tally()}
    kills: list[int] = []
    with gunicorn(env, tmp_path, "--workers", "2", "--timeout", "30", ready="/s/kill-open") as served:
        stop = threading.Event()
        entries = {"open": ["/s/kill-open"] * 100_000, "invitation": tokens}
        threads = [threading.Thread(target=respondents, args=(served.base, entries[mode], mode, tallies[mode], stop))
                   for mode in tallies for _ in range(THREADS_PER_MODE)]
        threads.append(threading.Thread(target=killer, args=(served, stop, kills)))
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=120)
    database = database_url.split(":", 1)[0]
    results = {}
    for mode, slug in (("open", "kill-open"), ("invitation", "kill-invite")):
        stored = exported_markers(app, slug, tmp_path)
        tally = tallies[mode]
        lost = [m for m in tally.acknowledged if stored[m] == 0]
        duplicates = sum(n - 1 for n in stored.values() if n > 1)
        results[mode] = (lost, duplicates)
        print(f"kill -9 [{database}] {mode} mode: {len(kills)} kills in {SECONDS:.0f} s, "
              f"acknowledged {len(tally.acknowledged)}, stored {sum(stored.values())}, lost {len(lost)}, "
              f"duplicates {duplicates}, not acknowledged (given up after 3 tries) {tally.abandoned}, "
              f"5xx {tally.errors_5xx}")
    app.extensions["surveykit.engine"].dispose()
    assert len(kills) >= max(1, int(SECONDS / 2))
    assert all(tallies[m].acknowledged for m in tallies)  # the load got through
    for lost, duplicates in results.values():
        assert (lost, duplicates) == ([], 0)
