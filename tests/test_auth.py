"""Investigators' accounts: the users command, log in and out, sessions, idle expiry, login_required, `next`.

The throttle's attacks (bursts, per-client limits, look-alike answers, lock-outs) are in test_auth_throttle.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from auth_helpers import (
    FREE_TRIES,
    PASSWORD,
    WRONG,
    Clock,
    cheap_argon2,
    fake_clock,
    log_in,
    make_user,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from surveyapp.auth import throttle
from surveyapp.auth.models import FAILED, User
from surveyapp.auth.routes import current_user, login_required
from surveyapp.db import new_session

from conftest import csrf_from


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return fake_clock(monkeypatch)


@pytest.fixture
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with cheap_argon2(monkeypatch):
        yield


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
    wrong = log_in(client, password=WRONG)
    unknown = log_in(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail address or password." in wrong.text
    assert "Wrong e-mail address or password." in unknown.text


def test_login_backs_off_after_repeated_failures(app, client, runner, clock):
    # Was: a hard 15-minute account lock after 5 failures (which anyone could renew); now the client waits.
    make_user(runner)
    for _ in range(FREE_TRIES):
        assert log_in(client, password=WRONG).status_code == 401
    # Even the right password is refused while the wait lasts, with the same answer as a wrong one.
    refused = log_in(client)
    assert refused.status_code == 401 and FAILED.split(".")[0] in refused.text
    with client.session_transaction() as sess:
        assert "user_id" not in sess
    # Once the wait has passed, the right password works again.
    clock.advance(throttle.PAIR.first_wait + 1)
    assert log_in(client).status_code == 302


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


@pytest.mark.parametrize("target", [
    "//evil.example/x", "https://evil.example/", "/\\evil.example", "/%09/evil.example/x", "/%0a/evil.example",
    "//evil", "/\\evil", "https:evil", "https:/evil.example", "/x%0d%0aSet-Cookie:%20a=b", "%0d%0a/x",
    "/%20/evil.example", "%20//evil.example", "/%00/evil.example", "/%e2%80%8b/evil.example", "evil.example",
    "javascript:alert(1)", "/%5cevil.example",
])
def test_login_never_redirects_off_site(app, client, runner, fast_argon2, target):
    make_user(runner)
    response = log_in(client, next_=target)
    if "%00" in target:  # a NUL in any field is refused before the view sees it (surveyapp/security.py)
        assert response.status_code == 400 and "Location" not in response.headers
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert "evil" not in response.headers["Location"]


@pytest.mark.parametrize("target", ["/admin/", "/coding/?x=1", "/admin/surveys/dept-2023%2Fx"])
def test_login_follows_local_paths(app, client, runner, fast_argon2, target):
    make_user(runner)
    assert log_in(client, next_=target).headers["Location"] == target.replace("%2F", "/")


def copied_login(app: Flask, client: FlaskClient) -> FlaskClient:
    """Return a second client holding a copy of *client*'s session cookie (what a thief would hold)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def logged_in(client: FlaskClient) -> bool:
    page = client.get("/admin/")
    return page.status_code == 200


def test_a_copied_cookie_dies_with_the_logout(app, client, runner):
    make_user(runner)
    log_in(client)
    thief = copied_login(app, client)
    assert logged_in(thief)  # control: the copy works while the login lasts
    home = client.get("/")
    client.post("/auth/logout", data={"csrf_token": csrf_from(home.text)})
    assert not logged_in(thief)
    assert not logged_in(client)
    # A new login works, and is not the copied one.
    assert log_in(client).status_code == 302 and logged_in(client)
    assert not logged_in(thief)


def test_a_copied_cookie_dies_with_a_new_password(app, client, runner):
    make_user(runner)
    log_in(client)
    thief = copied_login(app, client)
    assert logged_in(thief)
    result = runner.invoke(args=["users", "password", "lead@example.org", "--password-stdin"],
                           input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert not logged_in(thief)
    assert not logged_in(client)
    assert log_in(client, password="a brand new passphrase").status_code == 302 and logged_in(client)


def test_users_password_lifts_lock(app, runner, client):
    make_user(runner)
    for _ in range(FREE_TRIES + 1):
        log_in(client, password=WRONG)
    result = runner.invoke(args=["users", "password", "lead@example.org", "--password-stdin"],
                           input="a brand new passphrase\n")
    assert result.exit_code == 0, result.output
    assert log_in(client, password="a brand new passphrase").status_code == 302
