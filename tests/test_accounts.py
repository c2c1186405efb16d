"""Accounts in the browser: invitations by e-mail (a real SMTP server on loopback), set-password links (single
use, expiring, stored only as a hash), disabled accounts, the last admin, the first account's set-up link, teams."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import cheap_argon2, log_in
from flask import Flask
from flask.testing import FlaskClient
from migrated import migrate
from smtp_server import SmtpServer, body, free_port, smtp  # noqa: F401  (fixture)
from sqlalchemy import select, text
from survey_setup import marker_instruments

from surveyapp import db, shutdown
from surveyapp.auth import links
from surveyapp.auth.members import SurveyMember
from surveyapp.auth.models import User, create_user

from conftest import csrf_from, make_test_app

ADMIN, PASSWORD = "admin@example.org", "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
SET_LINK = re.compile(r"https?://[^\s<>\"]+/auth/set-password/[A-Za-z0-9_\-]+")


@pytest.fixture
def cheap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with cheap_argon2(monkeypatch):
        yield


def build(database_url: str, tmp_path: Path, **extra: object) -> Flask:
    return make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(marker_instruments(tmp_path, "two")),
                         **extra)


def add_user(app: Flask, email: str, role: str, password: str | None = PASSWORD) -> int:
    with app.app_context(), db.new_session() as s:
        user = create_user(s, email, password, role=role)
        s.commit()
        return user.id


def logged_in(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    done = log_in(client, email, password)
    assert done.status_code == 302, done.text
    return client


def post(client: FlaskClient, page: str, url: str, **data: object):
    return client.post(url, data={"csrf_token": csrf_from(client.get(page).text), **data})


def invite(client: FlaskClient, email: str, role: str = "coder", name: str = "Cora Coder"):
    return post(client, "/admin/users", "/admin/users/invite", email=email, name=name, role=role)


def user(app: Flask, email: str) -> User:
    with app.app_context(), db.new_session() as s:
        found = s.scalar(select(User).where(User.email == email))
        assert found is not None
        s.expunge(found)
        return found


def stored_bytes(app: Flask, database_url: str) -> bytes:
    """Return everything the database holds about links, as bytes: SQLite's files, or PostgreSQL's rows."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with app.app_context(), db.new_session() as s:
        rows = s.execute(text("SELECT * FROM account_links")).all()
    return repr(rows).encode()


def test_an_invitation_is_e_mailed_and_its_link_works_once(database_url: str, tmp_path: Path, smtp: SmtpServer,  # noqa: F811
                                                          cheap: None) -> None:
    app = build(database_url, tmp_path, **smtp.config())
    try:
        add_user(app, ADMIN, "admin")
        admin = logged_in(app, ADMIN)
        page = invite(admin, "cora@example.org")
        assert page.status_code == 200 and "was e-mailed to cora@example.org" in page.text
        (message,) = smtp.handler.messages
        assert message["To"] == "cora@example.org" and message["Date"]
        link = SET_LINK.search(body(message))
        assert link, body(message)
        assert link.group(0) in body(message, "html")
        token = link.group(0).rsplit("/", 1)[1]
        # Only the hash is stored: the token is nowhere in the database (the control: its hash is).
        held = stored_bytes(app, database_url)
        assert hashlib.sha256(token.encode()).hexdigest().encode() in held
        assert token.encode() not in held
        path = f"/auth/set-password/{token}"
        assert user(app, "cora@example.org").role == "coder"
        assert logged_in_fails(app, "cora@example.org", NEW_PASSWORD)  # no password before the link is used

        cora = app.test_client()
        form = cora.get(path)
        assert form.status_code == 200 and "cora@example.org" in form.text
        short = cora.post(path, data={"csrf_token": csrf_from(form.text), "password": "short", "confirm": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        done = cora.post(path, data={"csrf_token": csrf_from(form.text), "password": NEW_PASSWORD,
                                     "confirm": NEW_PASSWORD})
        assert done.status_code == 302 and done.headers["Location"].endswith("/coding/")  # a coder lands there
        assert cora.get("/coding/").status_code == 200  # logged in
        assert cora.get("/admin/").status_code == 403  # a coder's role: no survey pages

        again = app.test_client().get(path)
        assert again.status_code == 410 and "used already" in again.text
        assert app.test_client().post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code \
            in (400, 410)
        logged_in(app, "cora@example.org", NEW_PASSWORD)
    finally:
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()


def logged_in_fails(app: Flask, email: str, password: str) -> bool:
    return log_in(app.test_client(), email, password).status_code == 401


def test_an_expired_link_says_so_and_a_new_one_replaces_it(database_url: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, cheap: None) -> None:
    app = build(database_url, tmp_path, SURVEYKIT_SMTP_HOST="", SURVEYKIT_INVITE_HOURS=72)
    try:
        add_user(app, ADMIN, "admin")
        admin = logged_in(app, ADMIN)
        page = invite(admin, "ivan@example.org", role="investigator")
        # No mail server set: the page shows the link, and says it was not e-mailed.
        assert "could not be e-mailed" in page.text and "no mail server is set" in page.text
        first = SET_LINK.search(page.text)
        assert first
        path = "/auth/set-password/" + first.group(0).rsplit("/", 1)[1]
        assert app.test_client().get(path).status_code == 200  # the control: within 72 hours it opens
        later = links.now() + dt.timedelta(hours=72, minutes=1)
        monkeypatch.setattr(links, "now", lambda: later)
        expired = app.test_client().get(path)
        assert expired.status_code == 410 and "expired" in expired.text
        monkeypatch.undo()
        # A new link: the old one stops working, the new one opens.
        ivan = user(app, "ivan@example.org")
        again = post(admin, "/admin/users", f"/admin/users/{ivan.id}/link")
        second = SET_LINK.search(again.text)
        assert second and second.group(0) != first.group(0)
        assert app.test_client().get(path).status_code == 404
        assert app.test_client().get("/auth/set-password/" + second.group(0).rsplit("/", 1)[1]).status_code == 200
        assert app.test_client().get("/auth/set-password/not-a-token").status_code == 404
    finally:
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()


def test_a_disabled_account_cannot_log_in_and_its_logins_end(app: Flask, cheap: None) -> None:
    add_user(app, ADMIN, "admin")
    add_user(app, "ivan@example.org", "investigator")
    admin, ivan = logged_in(app, ADMIN), logged_in(app, "ivan@example.org")
    assert ivan.get("/admin/").status_code == 200
    ivan_id = user(app, "ivan@example.org").id
    assert post(admin, "/admin/users", f"/admin/users/{ivan_id}/disable").status_code == 302
    assert user(app, "ivan@example.org").disabled
    ended = ivan.get("/admin/")
    assert ended.status_code == 302 and "/auth/login" in ended.headers["Location"]
    refused = log_in(app.test_client(), "ivan@example.org", PASSWORD)
    assert refused.status_code == 401 and "disabled" in refused.text
    post(admin, "/admin/users", f"/admin/users/{ivan_id}/enable")
    logged_in(app, "ivan@example.org")


def test_the_last_admin_can_be_neither_disabled_nor_demoted(app: Flask, cheap: None) -> None:
    admin_id = add_user(app, ADMIN, "admin")
    admin = logged_in(app, ADMIN)
    post(admin, "/admin/users", f"/admin/users/{admin_id}/role", role="investigator")
    post(admin, "/admin/users", f"/admin/users/{admin_id}/disable")
    page = admin.get("/admin/users")
    assert "last admin" in page.text
    assert user(app, ADMIN).role == "admin" and not user(app, ADMIN).disabled
    # The control: with a second admin, the first may step down.
    other_id = add_user(app, "second@example.org", "admin")
    post(admin, "/admin/users", f"/admin/users/{admin_id}/role", role="investigator")
    assert user(app, ADMIN).role == "investigator"
    second = logged_in(app, "second@example.org")
    post(second, "/admin/users", f"/admin/users/{other_id}/disable")
    assert not user(app, "second@example.org").disabled  # now the last admin again


def test_the_set_up_link_creates_the_first_admin_once(app: Flask, cheap: None) -> None:
    runner = app.test_cli_runner()
    printed = runner.invoke(args=["users", "setup-link"])
    assert printed.exit_code == 0, printed.output
    found = re.search(r"/auth/setup/([A-Za-z0-9_\-]+)", printed.output)
    assert found, printed.output
    path = found.group(0)
    with app.app_context(), db.new_session() as s:
        assert found.group(1).encode() not in repr(s.execute(text("SELECT * FROM account_links")).all()).encode()
    client = app.test_client()
    form = client.get(path)
    assert form.status_code == 200
    done = client.post(path, data={"csrf_token": csrf_from(form.text), "email": ADMIN, "name": "Ada",
                                   "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/")
    assert user(app, ADMIN).role == "admin"
    assert client.get("/admin/users").status_code == 200
    assert app.test_client().get(path).status_code == 410
    assert "accounts exist already" in runner.invoke(args=["users", "setup-link"]).output


def test_users_create_makes_the_first_account_admin_and_the_next_investigators(app: Flask, cheap: None) -> None:
    runner = app.test_cli_runner()
    for email, extra, role in [("one@example.org", [], "admin"), ("two@example.org", [], "investigator"),
                               ("three@example.org", ["--role", "viewer"], "viewer")]:
        result = runner.invoke(args=["users", "create", email, "--password-stdin", *extra], input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        assert user(app, email).role == role
    listed = runner.invoke(args=["users", "list"]).output
    assert re.search(r"three@example.org\s+viewer\s+active", listed), listed
    wrong = runner.invoke(args=["users", "create", "four@example.org", "--role", "boss", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert wrong.exit_code != 0 and "boss" in wrong.output


def test_the_creator_owns_a_survey_and_adds_its_team(database_url: str, tmp_path: Path, cheap: None) -> None:
    app = build(database_url, tmp_path)
    try:
        add_user(app, ADMIN, "admin")
        add_user(app, "ivan@example.org", "investigator")
        colleague_id = add_user(app, "colleague@example.org", "investigator")
        ivan, colleague = logged_in(app, "ivan@example.org"), logged_in(app, "colleague@example.org")
        made = post(ivan, "/admin/new", "/admin/new", instrument="two", slug="ivans-survey",
                    title="Ivan's own survey", mode="open", reminder_days="7")
        assert made.status_code == 302, made.text
        assert ivan.get("/admin/s/ivans-survey").status_code == 200
        hidden = colleague.get("/admin/s/ivans-survey")
        assert hidden.status_code == 404 and "Ivan's own survey" not in hidden.text
        assert "ivans-survey" not in colleague.get("/admin/").text
        # Not an owner: a colleague cannot add themselves.
        token = csrf_from(colleague.get("/admin/").text)
        assert colleague.post("/admin/s/ivans-survey/members", data={
            "csrf_token": token, "user": str(colleague_id), "role": "owner"}).status_code == 404
        post(ivan, "/admin/s/ivans-survey", "/admin/s/ivans-survey/members", user=str(colleague_id), role="member")
        assert colleague.get("/admin/s/ivans-survey").status_code == 200
        assert "ivans-survey" in colleague.get("/admin/").text
    finally:
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()


def test_surveykit_run_prints_the_set_up_link_on_the_first_start(database_url: str, tmp_path: Path) -> None:
    migrate(database_url)
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
           "PYTHONUNBUFFERED": "1", "SURVEYKIT_BASE_URL": "http://127.0.0.1:5999"}
    command = [str(Path(sys.executable).parent / "surveykit"), "run", "--port", str(free_port())]
    with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(2)]
        finally:
            server.terminate()
            server.wait(10)
    assert "no account yet" in lines[0], lines
    assert re.search(r"http://127\.0\.0\.1:5999/auth/setup/[A-Za-z0-9_\-]{40,}", lines[1]), lines


def test_a_viewer_sees_the_shared_results_of_their_surveys_only(database_url: str, tmp_path: Path,
                                                                cheap: None) -> None:
    app = build(database_url, tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["surveys", "create", "two", "--id", "shared-one", "--title",
                                                    "Shared results survey", "--mode", "invitation"])
        assert result.exit_code == 0, result.output
        viewer_id = add_user(app, "vera@example.org", "viewer")
        add_user(app, "otto@example.org", "viewer")
        with app.app_context(), db.new_session() as s:
            s.add(SurveyMember(user_id=viewer_id, survey_slug="shared-one", role="member"))
            s.commit()
        vera = app.test_client()
        landed = log_in(vera, "vera@example.org", PASSWORD)
        assert landed.headers["Location"] == "/"
        home = vera.get("/")
        assert "Results shared with you" in home.text and "/admin/s/shared-one/results" in home.text
        page = vera.get("/admin/s/shared-one/results")
        assert page.status_code == 200 and "hidden" in page.text
        assert "results/links" not in page.text  # no share-link management: that is the team's
        assert vera.get("/admin/s/shared-one").status_code == 404
        otto = logged_in(app, "otto@example.org")
        assert "Shared results survey" not in otto.get("/").text
        assert otto.get("/admin/s/shared-one/results").status_code == 404
    finally:
        shutdown(app)
        app.extensions["surveykit.engine"].dispose()
