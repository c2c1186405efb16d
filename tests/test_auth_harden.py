"""Hardening: log-in hammered concurrently on a real gunicorn (loopback, bounded), figures printed.

Clients are told apart by X-Forwarded-For (the server trusts one proxy, as behind nginx). The guesses the server
really checked are the argon2 verifies its workers log (tests/auth_verify_counter.py), phase by phase.
"""

from __future__ import annotations

import http.client
import os
import re
import statistics
import threading
import time
import urllib.parse
from collections import Counter as Tally
from collections.abc import Callable
from pathlib import Path

import pytest
from auth_verify_counter import LOG_VARIABLE
from servers import gunicorn

from surveyapp.auth import throttle
from surveyapp.auth.models import create_user
from surveyapp.db import new_session

from conftest import csrf_from, make_test_app

SECRET = "harden-login"
LEAD = "lead@example.org"
NOBODY = "nobody@example.org"
PASSWORD = "correct horse battery"
COOKIE_RE = re.compile(r"session=([^;]+)")


class Browser:
    """One visitor of the log-in page from *client* (the address a trusted proxy forwards)."""

    def __init__(self, base: str, client: str, statuses: Tally[int]) -> None:
        self.address = urllib.parse.urlsplit(base).netloc
        self.client, self.statuses = client, statuses

    def _request(self, method: str, path: str, body: str = "", cookie: str = "") -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(self.address, timeout=60)
        try:
            headers = {"X-Forwarded-For": self.client}
            if cookie:
                headers["Cookie"] = f"session={cookie}"
            if body:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            found = COOKIE_RE.search(response.getheader("Set-Cookie") or "")
            self.statuses[response.status] += 1
            return response.status, text, found.group(1) if found else cookie
        finally:
            conn.close()

    def log_in(self, email: str, password: str) -> int:
        """Open the log-in page and send the form; return the POST's status."""
        _, page, cookie = self._request("GET", "/auth/login")
        form = urllib.parse.urlencode({"csrf_token": csrf_from(page), "email": email, "password": password})
        status, _, _ = self._request("POST", "/auth/login", form, cookie)
        return status


def in_parallel(jobs: list[Callable[[], object]], threads: int = 16) -> None:
    """Run *jobs* on *threads* threads, all starting together."""
    lock, start = threading.Lock(), threading.Barrier(threads)
    pending = list(jobs)

    def work() -> None:
        start.wait()
        while True:
            with lock:
                if not pending:
                    return
                job = pending.pop()
            job()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


@pytest.mark.harden
def test_login_burst_on_gunicorn(database_url: str, tmp_path: Path) -> None:
    app = make_test_app(database_url, tmp_path, SURVEYKIT_SECRET_KEY=SECRET)
    try:
        with app.app_context(), new_session() as s:
            create_user(s, LEAD, PASSWORD, "Lead")
            s.commit()
    finally:
        app.extensions["surveykit.engine"].dispose()
    verify_log = tmp_path / "verifies.log"
    verify_log.touch()
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": SECRET,
           "SURVEYKIT_TRUSTED_PROXIES": "1", LOG_VARIABLE: str(verify_log)}
    statuses: Tally[int] = Tally()
    attempts = 0

    def verifies() -> Tally[str]:
        return Tally(verify_log.read_text().split())

    counter = str(Path(__file__).with_name("auth_verify_counter.py"))
    with gunicorn(env, tmp_path, "--workers", "2", "--threads", "8", "--config", counter,
                  ready="/auth/login") as server:
        def browser(client: str) -> Browser:
            return Browser(server.base, client, statuses)

        # Timing, one fresh client per try so nothing is held back: unknown and known addresses, alternating.
        browser("192.0.2.250").log_in(NOBODY, "warm up the dummy hash")
        times: dict[str, list[float]] = {NOBODY: [], LEAD: []}
        for i in range(10):
            for email in (NOBODY, LEAD):
                started = time.perf_counter()
                assert browser(f"192.0.2.{i * 2 + (email == LEAD)}").log_in(email, "not the password") == 401
                times[email].append(time.perf_counter() - started)
                attempts += 1
        # The burst: one client, 120 guesses at a real address and 120 at an unknown one, 16 at a time.
        attacker = "203.0.113.9"
        burst = [lambda i=i, e=e: browser(attacker).log_in(e, f"guess {i}") for e in (LEAD, NOBODY) for i in range(120)]
        before = verifies()
        in_parallel(burst)
        attempts += len(burst)
        checked = verifies() - before
        guesses = {LEAD: checked["account"], NOBODY: checked["dummy"]}
        # A spray: one client, 40 addresses, one guess each.
        sprayer = "198.51.100.23"
        spray = [lambda i=i: browser(sprayer).log_in(f"person{i}@example.org", "guess") for i in range(40)]
        before = verifies()
        in_parallel(spray)
        attempts += len(spray)
        sprayed = (verifies() - before)["dummy"]
        # The attacker's client waits, even with the right password; the investigator elsewhere logs in.
        held_back = browser(attacker).log_in(LEAD, PASSWORD)
        real_user = browser("192.0.2.77").log_in(LEAD, PASSWORD)
        attempts += 2

    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    most = max(guesses.values())
    print(f"\nharden: login burst: {attempts} attempts, {most} guesses before back-off (limit {throttle.PAIR.free}), "
          f"{server_errors} x 5xx")
    print(f"harden: login spray: {sprayed} of {len(spray)} addresses checked from one client "
          f"(limit {throttle.CLIENT.free})")
    print(f"harden: login timing: median {statistics.median(times[NOBODY]) * 1000:.0f} ms unknown address, "
          f"{statistics.median(times[LEAD]) * 1000:.0f} ms known address (printed, not asserted)")
    assert server_errors == 0, statuses
    assert guesses == {LEAD: throttle.PAIR.free, NOBODY: throttle.PAIR.free}
    assert sprayed == throttle.CLIENT.free
    assert (held_back, real_user) == (401, 302)
