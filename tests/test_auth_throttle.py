"""The log-in throttle as an attacker meets it: bursts, many addresses, look-alike answers, lock-outs, proxies.

Each attack has a control that shows it would work without the defence (or that the defence is really on).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import (
    FREE_TRIES,
    LEAD,
    PASSWORD,
    WRONG,
    Clock,
    cheap_argon2,
    client_at,
    fake_clock,
    log_in,
    make_user,
)
from flask import Flask
from sqlalchemy import select

from surveyapp.auth import models, throttle
from surveyapp.auth.throttle import LoginThrottle
from surveyapp.db import new_session

from conftest import csrf_from, make_test_app

NOBODY = "nobody@example.org"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return fake_clock(monkeypatch)


@pytest.fixture
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with cheap_argon2(monkeypatch):
        yield


class CountingHasher:
    """The argon2 hasher, counting verifies per hash (and optionally slowed so concurrent ones overlap)."""

    def __init__(self, real: Any, delay: float = 0.0) -> None:
        self.real, self.delay = real, delay
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def verify(self, hashed: str, password: str) -> bool:
        with self.lock:
            self.calls[hashed] = self.calls.get(hashed, 0) + 1
        time.sleep(self.delay)
        return bool(self.real.verify(hashed, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def total(self) -> int:
        return sum(self.calls.values())


def user_hash(app: Flask, email: str = LEAD) -> str:
    with app.app_context(), new_session() as s:
        found = s.scalar(select(models.User.password_hash).where(models.User.email == email))
        assert found is not None
        return found


def counting(monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> CountingHasher:
    hasher = CountingHasher(models._hasher, delay)
    monkeypatch.setattr(models, "_hasher", hasher)
    return hasher


def test_a_concurrent_burst_gets_exactly_the_free_tries(app, runner, fast_argon2, monkeypatch):
    make_user(runner)
    burst = 12
    clients = [client_at(app, "203.0.113.9") for _ in range(burst)]
    tokens = [csrf_from(c.get("/auth/login").text) for c in clients]
    # Each verify takes 0.3 s, so every request of the burst is in flight before the first one is counted.
    hasher = counting(monkeypatch, delay=0.3)
    start = threading.Barrier(burst)
    statuses: list[int] = []

    def attack(index: int) -> None:
        start.wait()
        response = clients[index].post("/auth/login", data={"csrf_token": tokens[index], "email": LEAD,
                                                            "password": f"{WRONG} {index}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(burst)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * burst
    assert hasher.calls.get(user_hash(app), 0) == FREE_TRIES


def test_one_client_cannot_spray_many_addresses(app, runner, fast_argon2, clock):
    make_user(runner)
    sprayer, elsewhere = client_at(app, "203.0.113.9"), client_at(app, "198.51.100.7")
    for i in range(throttle.CLIENT.free):
        assert log_in(sprayer, email=f"guess{i}@example.org", password=WRONG).status_code == 401
    # Every address from this client now waits, even one it never tried, even with the right password ...
    assert log_in(sprayer).status_code == 401
    # ... while other clients are not held back (control: the right password works from there) ...
    assert log_in(elsewhere).status_code == 302
    # ... and the wait ends.
    clock.advance(throttle.CLIENT.first_wait + 1)
    assert log_in(sprayer).status_code == 302


def normalized(html: str, address: str) -> str:
    html = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)
    return html.replace(address, "ADDRESS")


def test_unknown_existing_and_held_back_addresses_answer_alike(app, runner, fast_argon2, clock, monkeypatch):
    make_user(runner)
    hasher = counting(monkeypatch)
    attacker = client_at(app, "203.0.113.9")
    answers: dict[str, tuple[int, str]] = {}

    def attempt(name: str, email: str, password: str, verifies: int) -> None:
        before = hasher.total()
        response = log_in(attacker, email=email, password=password)
        answers[name] = (response.status_code, normalized(response.text, email))
        # The same work for a known and an unknown address: one argon2 verify each (none while held back).
        assert hasher.total() - before == verifies, name

    attempt("unknown", NOBODY, WRONG, 1)
    attempt("wrong password", LEAD, WRONG, 1)
    for _ in range(FREE_TRIES - 1):
        log_in(attacker, email=NOBODY, password=WRONG)
        log_in(attacker, email=LEAD, password=WRONG)
    attempt("unknown, held back", NOBODY, WRONG, 0)
    attempt("existing, held back, right password", LEAD, PASSWORD, 0)
    assert hasher.calls.get(models._dummy_hash(), 0) == FREE_TRIES
    first = answers["unknown"]
    assert first[0] == 401 and models.FAILED.split(".")[0] in first[1]
    for name, answer in answers.items():
        assert answer == first, f"'{name}' answers differently from an unknown address"


def test_an_outsider_cannot_lock_the_real_user_out(app, runner, fast_argon2, clock, monkeypatch):
    make_user(runner)
    attacker, user = client_at(app, "203.0.113.9"), client_at(app, "198.51.100.7")
    hasher = counting(monkeypatch)
    for _ in range(FREE_TRIES + 3):
        log_in(attacker, password=WRONG)
    assert hasher.total() == FREE_TRIES  # tries during the wait are not even checked
    # Control: the attack holds back its own client, the right password included.
    assert log_in(attacker).status_code == 401
    # The real user, from their own computer, is not locked out at all.
    assert log_in(user).status_code == 302
    # The attacker's waits double: after the first minute one more guess, then two minutes.
    hasher.calls.clear()
    clock.advance(throttle.PAIR.first_wait + 1)
    log_in(attacker, password=WRONG)
    log_in(attacker, password=WRONG)
    assert hasher.total() == 1
    clock.advance(throttle.PAIR.first_wait + 1)
    log_in(attacker, password=WRONG)
    assert hasher.total() == 1
    clock.advance(throttle.PAIR.first_wait)
    log_in(attacker, password=WRONG)
    assert hasher.total() == 2


def test_many_clients_hold_an_address_for_one_window_only(app, runner, fast_argon2, clock):
    make_user(runner)
    cap = throttle.ACCOUNT.free
    attackers = [client_at(app, f"203.0.113.{i}") for i in range(cap // FREE_TRIES + 1)]
    tried = 0
    for attacker in attackers:
        for _ in range(FREE_TRIES):
            if tried < cap:
                log_in(attacker, password=WRONG)
                tried += 1
    user = client_at(app, "198.51.100.7")
    # Control: the address-wide cap is reached, so a real user's first try from a fresh client waits too ...
    assert log_in(user).status_code == 401
    # ... but only until the window ends, which one more window's worth of failures would be needed to renew.
    clock.advance(throttle.ACCOUNT.window + 1)
    assert log_in(user).status_code == 302


def test_users_password_lifts_the_waits_of_the_address(app, runner, fast_argon2, clock):
    make_user(runner)
    user = client_at(app, "198.51.100.7")
    for _ in range(FREE_TRIES):
        log_in(user, password=WRONG)
    assert log_in(user).status_code == 401
    result = runner.invoke(args=["users", "password", LEAD, "--password-stdin"], input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert log_in(user, password="a brand new passphrase").status_code == 302


@pytest.mark.parametrize("trusted", [0, 1])
def test_forwarded_for_counts_only_behind_a_trusted_proxy(database_url: str, tmp_path: Path, fast_argon2, trusted):
    app = make_test_app(database_url, tmp_path, SURVEYKIT_TRUSTED_PROXIES=trusted)
    try:
        make_user(app.test_cli_runner())
        proxy = client_at(app, "127.0.0.1")
        for _ in range(FREE_TRIES):
            proxy.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
            log_in(proxy, password=WRONG)
        proxy.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
        # Trusted: the forwarded address is the client, so another one is not held back. Not trusted (the
        # default): anyone could write the header, so it changes nothing and the connection is held back.
        assert log_in(proxy).status_code == (302 if trusted else 401)
    finally:
        app.extensions["surveykit.engine"].dispose()


def test_the_throttle_keeps_no_address_and_forgets(app, runner, fast_argon2, clock, caplog):
    caplog.set_level("DEBUG")
    make_user(runner)
    attacker = client_at(app, "203.0.113.9")
    log_in(attacker, password=WRONG)
    log_in(attacker, email=NOBODY, password=WRONG)
    with app.app_context(), new_session() as s:
        rows = s.scalars(select(LoginThrottle)).all()
        stored = " ".join(f"{r.key} {r.account} {r.failures} {r.wait_until} {r.expires}" for r in rows)
    assert len(rows) == 5  # two addresses, their two pairs, one client
    for secret in ("203.0.113", "lead", "nobody", "example", "@"):
        assert secret not in stored
    assert "203.0.113" not in caplog.text
    # A day without failures forgets them: the next log-in sweeps the rows away.
    clock.advance(24 * 3600 + 1)
    assert log_in(client_at(app, "198.51.100.7")).status_code == 302
    with app.app_context(), new_session() as s:
        assert s.scalars(select(LoginThrottle)).all() == []

