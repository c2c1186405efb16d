"""What a process remembers of signatures it has checked (surveyapp/security.py): verified session cookies and CSRF
tokens skip the signature check the next time, but never accept what a fresh check would refuse."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import surveyapp.security as security
from surveyapp import shutdown

from conftest import csrf_from, make_test_app

LOGIN = "/auth/login"
CSRF_REFUSED = "CSRF"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Flask]:
    app = make_test_app(f"sqlite:///{tmp_path / 'signed.sqlite3'}", tmp_path)
    yield app
    shutdown(app)
    app.extensions["surveykit.engine"].dispose()


def _cookie(client: FlaskClient) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def _log_in(client: FlaskClient, token: str) -> tuple[int, str]:
    """Send the log-in form for an account that does not exist: 401 when the CSRF check passed, 400 when not."""
    response = client.post(LOGIN, data={"csrf_token": token, "email": "nobody@example.org", "password": "x" * 12})
    return response.status_code, response.get_data(as_text=True)


def test_a_remembered_cookie_opens_only_as_itself(site: Flask) -> None:
    client = site.test_client()
    token = csrf_from(client.get(LOGIN).get_data(as_text=True))
    cookie = _cookie(client)
    # The same cookie again (now remembered): the same session, the form goes through the CSRF check.
    assert csrf_from(client.get(LOGIN).get_data(as_text=True)) == token
    assert _log_in(client, token)[0] == 401
    # One character of its signature changed: refused as a fresh check refuses it, remembered or not.
    last = "A" if cookie[-1] != "A" else "B"
    client.set_cookie("session", cookie[:-1] + last)
    status, page = _log_in(client, token)
    assert status == 400 and CSRF_REFUSED in page
    # Control: the genuine cookie still opens.
    client.set_cookie("session", cookie)
    assert _log_in(client, token)[0] == 401


def test_a_remembered_cookie_expires_when_a_fresh_one_would(site: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = site.test_client()
    token = csrf_from(client.get(LOGIN).get_data(as_text=True))
    assert _log_in(client, token)[0] == 401  # remembered now
    lifetime = site.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 60
    monkeypatch.setattr(security.time, "time", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    status, page = _log_in(client, token)
    assert status == 400 and CSRF_REFUSED in page


def test_each_request_gets_its_own_copy_of_a_remembered_session(site: Flask) -> None:
    client = site.test_client()
    client.get(LOGIN)
    cookie = _cookie(client)
    interface = site.session_interface
    with site.test_request_context(LOGIN, headers={"Cookie": f"session={cookie}"}) as ctx:
        first = interface.open_session(site, ctx.request)
        assert first is not None and "csrf_token" in first
        first["csrf_token"] = "changed in place"
        second = interface.open_session(site, ctx.request)
        assert second is not None and second["csrf_token"] != "changed in place"


def test_a_new_secret_key_refuses_a_remembered_cookie(site: Flask) -> None:
    client = site.test_client()
    token = csrf_from(client.get(LOGIN).get_data(as_text=True))
    assert _log_in(client, token)[0] == 401  # the cookie is remembered under the old key
    site.secret_key = site.config["SECRET_KEY"] = "another-secret"
    status, page = _log_in(client, token)
    assert status == 400 and CSRF_REFUSED in page


def test_a_csrf_token_is_given_again_to_its_own_session_only(site: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = site.test_client(), site.test_client()
    token = csrf_from(alice.get(LOGIN).get_data(as_text=True))
    assert csrf_from(alice.get(LOGIN).get_data(as_text=True)) == token  # within the minute: the same token
    bobs = csrf_from(bob.get(LOGIN).get_data(as_text=True))
    assert bobs != token
    # A token this process has verified (alice's) is still refused for another session ...
    assert _log_in(alice, token)[0] == 401
    status, page = _log_in(bob, token)
    assert status == 400 and CSRF_REFUSED in page
    # ... and the control: bob's own token passes.
    assert _log_in(bob, bobs)[0] == 401
    # After the minute, the session gets a newly signed token (both pass: neither expires without a time limit).
    later = time.time() + security.TOKEN_REUSE_SECONDS + 1
    monkeypatch.setattr(security.time, "time", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later + 1)
    fresh = csrf_from(alice.get(LOGIN).get_data(as_text=True))
    assert fresh != token
    assert _log_in(alice, fresh)[0] == 401
    assert _log_in(alice, token)[0] == 401


def test_a_remembered_csrf_token_expires_with_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'limit.sqlite3'}", tmp_path, WTF_CSRF_TIME_LIMIT=600)
    try:
        client = app.test_client()
        token = csrf_from(client.get(LOGIN).get_data(as_text=True))
        assert _log_in(client, token)[0] == 401  # verified, so remembered
        later = time.time() + 601
        monkeypatch.setattr(security.time, "time", lambda: later)
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
        status, page = _log_in(client, token)
        assert status == 400 and CSRF_REFUSED in page
    finally:
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()
