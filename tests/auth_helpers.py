"""What the log-in tests share: an investigator, a log-in from a given client, the throttle's clock, cheap hashes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from surveyapp.auth import models, throttle

from conftest import csrf_from

LEAD = "lead@example.org"
PASSWORD = "correct horse battery"
WRONG = "wrong password!"
FREE_TRIES = throttle.PAIR.free


class Clock:
    """The throttle's time, moved on by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Give the throttle a clock the test moves on."""
    fake = Clock()
    monkeypatch.setattr(throttle, "clock", fake)
    return fake


@contextmanager
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hash with tiny argon2 parameters: for tests that log in many times and are not about the hash's cost."""
    monkeypatch.setattr(models, "_hasher", PasswordHasher(time_cost=1, memory_cost=256, parallelism=1))
    models._dummy_hash.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        models._dummy_hash.cache_clear()  # later tests verify against a dummy made with the real parameters


def client_at(app: Flask, address: str) -> FlaskClient:
    """Return a test client whose requests come from *address*."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def make_user(runner: FlaskCliRunner, email: str = LEAD, password: str = PASSWORD) -> None:
    result = runner.invoke(args=["users", "create", email, "--name", "Lead", "--password-stdin"],
                           input=password + "\n")
    assert result.exit_code == 0, result.output


def log_in(client: FlaskClient, email: str = LEAD, password: str = PASSWORD, next_: str | None = None) -> TestResponse:
    page = client.get("/auth/login")
    url = "/auth/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"csrf_token": csrf_from(page.text), "email": email, "password": password})
