"""Investigators' accounts: the users command, log in and out, throttling, idle expiry, login_required."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from surveyapp.auth.models import LOCK_MINUTES, MAX_FAILURES, User
from surveyapp.auth.routes import current_user, login_required
from surveyapp.db import new_session

from conftest import csrf_from

PASSWORD = "correct horse battery"


def make_user(runner: FlaskCliRunner, email: str = "lead@example.org", password: str = PASSWORD) -> None:
    result = runner.invoke(args=["users", "create", email, "--name", "Lead", "--password-stdin"],
                           input=password + "\n")
    assert result.exit_code == 0, result.output


def log_in(client: FlaskClient, email: str = "lead@example.org", password: str = PASSWORD,
           next_: str | None = None) -> object:
    page = client.get("/auth/login")
    url = "/auth/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"csrf_token": csrf_from(page.text), "email": email, "password": password})


def user_row(app: Flask, email: str = "lead@example.org") -> User:
    with app.app_context(), new_session() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        return user


def test_users_create_hashes_the_password(app, runner):
    make_user(runner, "Lead@Example.org")
    user = user_row(app)
    assert user.name == "Lead"
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
    assert user.created_on == dt.date.today()


def test_users_create_prompts_twice_hidden(app, runner):
    result = runner.invoke(args=["users", "create", "a@example.org"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    mismatch = runner.invoke(args=["users", "create", "b@example.org"],
                             input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert "do not match" in mismatch.output
    assert mismatch.exit_code == 0


@pytest.mark.parametrize(("email", "password", "message"), [
    ("not-an-address", PASSWORD, "is not an e-mail address"),
    ("x@example.org", "short", "at least 10 characters"),
    ("lead@example.org", PASSWORD, "exists already"),
])
def test_users_create_refuses_bad_input(app, runner, email, password, message):
    make_user(runner)
    result = runner.invoke(args=["users", "create", email, "--password-stdin"], input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context(), new_session() as s:
        assert len(s.scalars(select(User)).all()) == 1


def test_log_in_and_out(app, client, runner):
    make_user(runner)
    response = log_in(client)
    assert response.status_code == 302
    with client.session_transaction() as sess:
        assert "user_id" in sess
    home = client.get("/")
    assert "Log out" in home.text and "Lead" in home.text
    # Logging out is a POST guarded by CSRF: a cross-site form (no token) cannot log anyone out.
    assert client.post("/auth/logout").status_code == 400
    with client.session_transaction() as sess:
        assert "user_id" in sess
    out = client.post("/auth/logout", data={"csrf_token": csrf_from(home.text)}, follow_redirects=True)
    assert "You are logged out" in out.text
    with client.session_transaction() as sess:
        assert "user_id" not in sess
    assert client.get("/auth/logout").status_code == 405


def test_login_needs_csrf(app, client, runner):
    make_user(runner)
    response = client.post("/auth/login", data={"email": "lead@example.org", "password": PASSWORD})
    assert response.status_code == 400
    with client.session_transaction() as sess:
        assert "user_id" not in sess


def test_wrong_password_and_unknown_address_look_the_same(app, client, runner):
    make_user(runner)
    wrong = log_in(client, password="wrong password!")
    unknown = log_in(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail address or password." in wrong.text
    assert "Wrong e-mail address or password." in unknown.text


def test_login_is_throttled_after_repeated_failures(app, client, runner):
    make_user(runner)
    for _ in range(MAX_FAILURES - 1):
        assert log_in(client, password="wrong password!").status_code == 401
    locked = log_in(client, password="wrong password!")
    assert f"locked for {LOCK_MINUTES} minutes" in locked.text
    # Even the right password is refused while the lock lasts.
    refused = log_in(client)
    assert refused.status_code == 401 and "locked" in refused.text
    with client.session_transaction() as sess:
        assert "user_id" not in sess
    user = user_row(app)
    assert user.locked_until is not None
    # Once the lock has passed, the right password works again and the counter starts afresh.
    with app.app_context(), new_session() as s:
        row = s.get(User, user.id)
        assert row is not None
        row.locked_until = dt.datetime(2000, 1, 1)
        s.commit()
    assert log_in(client).status_code == 302
    assert user_row(app).failed_logins == 0


def test_login_expires_after_inactivity(app, client, runner):
    make_user(runner)
    log_in(client)
    hours = app.config["SURVEYKIT_SESSION_HOURS"]
    with client.session_transaction() as sess:
        sess["auth_seen"] = time.time() - hours * 3600 - 5
    page = client.get("/")
    assert "Your session expired" in page.text
    with client.session_transaction() as sess:
        assert "user_id" not in sess


def test_activity_keeps_the_login_alive(app, client, runner):
    make_user(runner)
    log_in(client)
    hours = app.config["SURVEYKIT_SESSION_HOURS"]
    with client.session_transaction() as sess:
        sess["auth_seen"] = time.time() - hours * 3600 + 120
    client.get("/")
    with client.session_transaction() as sess:
        assert "user_id" in sess and sess["auth_seen"] > time.time() - 60


def test_login_required_redirects_and_comes_back(app, client, runner):
    @app.get("/secret")
    @login_required
    def secret() -> str:
        user = current_user()
        assert user is not None
        return f"hello {user.email}"

    make_user(runner)
    first = client.get("/secret")
    assert first.status_code == 302 and "/auth/login?next=/secret" in first.headers["Location"]
    response = log_in(client, next_="/secret")
    assert response.headers["Location"] == "/secret"
    assert client.get("/secret").text == "hello lead@example.org"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(app, client, runner, target):
    make_user(runner)
    response = log_in(client, next_=target)
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]


def test_users_password_lifts_lock(app, runner, client):
    make_user(runner)
    for _ in range(MAX_FAILURES):
        log_in(client, password="wrong password!")
    result = runner.invoke(args=["users", "password", "lead@example.org", "--password-stdin"],
                           input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert log_in(client, password="a brand new passphrase").status_code == 302
