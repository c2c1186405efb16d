"""surveyapp/security.py and the web hardening fixes: headers, cookies, size limit, request checks, JSON in script
blocks, state changes only by POST, the themes page with everything coded, and no server banner."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import cheap_argon2, log_in, make_user
from flask import Flask
from flask.testing import FlaskClient
from servers import gunicorn
from sqlalchemy import select

from coding import applying as Ap
from coding import projects as P
from coding.codebook import stored as C
from surveyapp import db, shutdown
from surveyapp.models import Response
from surveyapp.security import CONTENT_SECURITY_POLICY, INT_MAX, parse_bounded_int

from conftest import INSTRUMENTS, csrf_from, make_test_app
from respondent import Respondent

TEMPLATES = Path(__file__).resolve().parent.parent / "surveyapp" / "templates"

PROBE = """\
id: probe
version: 1
title: Probe
sections:
  - id: one
    questions:
      - id: used
        type: single_choice
        text: Did you use it?
        choices: yes_no
        other: true
      - id: short
        type: text
        max_length: 10
        text: In ten letters?
  - id: two
    questions:
      - id: more
        type: text
        text: More?
"""
BREAKOUT = "</script><script>alert(1)</script>\u2028&<>'"


@pytest.fixture
def probe_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    (folder / "probe.yaml").write_text(PROBE)
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    result = app.test_cli_runner().invoke(args=["surveys", "create", "probe", "--id", "probe", "--mode", "open"])
    assert result.exit_code == 0, result.output
    yield app
    shutdown(app)
    app.extensions["surveykit.engine"].dispose()


@pytest.fixture
def lead(probe_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    with cheap_argon2(monkeypatch):
        make_user(probe_app.test_cli_runner())
        client = probe_app.test_client()
        assert log_in(client).status_code == 302
        yield client


# Headers and cookies

def test_every_response_carries_the_policy_and_the_headers(client: FlaskClient) -> None:
    for path, status in (("/", 200), ("/s/nowhere", 404), ("/static/style.css", 200), ("/auth/login", 200)):
        response = client.get(path)
        assert response.status_code == status
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # served over http
        response.close()
    for directive in ("script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_session_cookie_is_httponly_and_samesite_and_secure_only_over_https(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    for base, secure in (("http://127.0.0.1:5000", False), ("https://surveys.example.org", True)):
        app = make_test_app(url, tmp_path, SURVEYKIT_BASE_URL=base)
        client = app.test_client()
        page = client.get("/auth/login")
        cookie = page.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure
        assert ("Strict-Transport-Security" in page.headers) is secure
        if secure:
            assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        app.extensions["surveykit.engine"].dispose()


def test_templates_hold_no_inline_script_or_style() -> None:
    # The policy refuses them: a page that needs one would break. E-mails are not served as pages.
    offending = []
    for path in TEMPLATES.rglob("*.html"):
        if "email" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        # An e-mail's preview is served under its own policy (security.MAIL_PREVIEW_POLICY): inline styles, as
        # the e-mail itself has them, and still no script at all.
        styles = () if path.name == "mail_preview.html" else (r"<style", r"\sstyle=")
        for pattern in (*styles, r"\son[a-z]+=", r"javascript:", r"<script",
                        r"<script(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")"):
            if pattern == r"<script" and path.name != "mail_preview.html":
                continue
            offending += [f"{path.name}: {m.group(0)!r}" for m in re.finditer(pattern, text)]
    assert offending == []


# The size limit

def test_a_request_over_the_limit_gets_a_friendly_413_and_saves_nothing(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'big.sqlite3'}", tmp_path, SURVEYKIT_MAX_REQUEST_MB=1)
    assert app.test_cli_runner().invoke(args=["surveys", "create", "department-survey", "--id", "dept",
                                              "--mode", "open"]).exit_code == 0
    client = app.test_client()
    who = Respondent(client, "dept")
    who.start()
    page = who.page
    assert page is not None
    big = client.post(page.request.path, data={"csrf_token": csrf_from(page.text), "department": "em",
                                               "x": "y" * (1024 * 1024 + 1)})
    assert big.status_code == 413
    assert "larger than the 1 MB this site accepts" in big.text and "nothing of it was saved" in big.text
    small = client.post(page.request.path, data={"csrf_token": csrf_from(page.text), "department": "em",
                                                 "x": "y" * 1000})
    assert small.status_code == 302  # the control: the same form under the limit goes on
    app.extensions["surveykit.engine"].dispose()


# Request checks: control characters, NUL, bounded numbers (both databases)

def _routes_with_text_parameters(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        names = re.findall(r"<(\w+)>", rule.rule)  # the string parameters (<int:...> ones are numbers)
        if rule.endpoint == "static" or not names:
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m, text=names: "ab%00cd" if m.group(1) in text else "7",
                      rule.rule)
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def _status(client: FlaskClient, path: str, method: str, token: str) -> int:
    response = client.open(path, method=method, data={"csrf_token": token})
    response.close()  # downloads stream a file
    return response.status_code


def test_a_control_character_in_any_path_parameter_is_a_404(probe_app: Flask, lead: FlaskClient) -> None:
    token = csrf_from(lead.get("/admin/new").text)
    routes = _routes_with_text_parameters(probe_app)
    assert len(routes) > 25
    answers = {}
    for method, path in routes:
        for bad in ("%00", "%01", "%1b", "%7f", "%C2%85"):
            answers[(method, path, bad)] = _status(lead, path.replace("%00", bad), method, token)
    assert {k: v for k, v in answers.items() if v != 404} == {}
    # The control: the same routes with a plain value are found (or refused for another reason, never 500).
    plain = {_status(lead, path.replace("ab%00cd", "probe"), method, token) for method, path in routes}
    assert plain - {404} and max(plain) < 500


def test_a_nul_in_a_form_or_query_field_is_a_400_and_nothing_is_stored(probe_app: Flask) -> None:
    client = probe_app.test_client()
    who = Respondent(client, "probe")
    who.start()
    assert who.page is not None
    path, token = who.page.request.path, csrf_from(who.page.text)
    refused = client.post(path, data={"csrf_token": token, "used": "yes", "short": "a\x00b"})
    assert refused.status_code == 400 and "NUL" in refused.text
    assert client.post(path, data={"csrf_token": token, "used": "yes", "sho\x00rt": "x"}).status_code == 400
    assert client.get("/s/probe?x=a%00b").status_code == 400
    assert client.post(path, data={"csrf_token": token, "used": "yes", "short": "ab"}).status_code == 302
    with probe_app.app_context(), db.new_session() as s:
        assert s.scalars(select(Response)).all() == []


def test_whole_numbers_are_bounded_in_paths_and_queries(probe_app: Flask, lead: FlaskClient) -> None:
    with probe_app.app_context(), db.new_session() as s:
        project = P.create_project(s, "bounds", "lead@example.org")
        P.add_units(s, project, [P.NewUnit("import:1", "A text.")])
        s.commit()
    for huge in (str(INT_MAX + 1), "9" * 30, "9" * 5000):
        assert lead.get(f"/coding/bounds/reconcile/{huge}").status_code == 404
        for query in ("pos", "round", "with_code"):
            answer = lead.get(f"/coding/bounds/code?{query}={huge}")
            assert answer.status_code == 400, (query, answer.status_code)
            assert "is not a whole number" in answer.text
        assert lead.get(f"/coding/bounds/reconcile?page={huge}").status_code == 400
        assert lead.get(f"/coding/bounds/codebook/changes?to={huge}").status_code == 400
    assert lead.get(f"/coding/bounds/code?pos={INT_MAX}").status_code == 200  # the largest is still a number
    assert lead.get(f"/coding/bounds/reconcile/{INT_MAX}").status_code in (403, 404)


def test_parse_bounded_int() -> None:
    assert [parse_bounded_int(v) for v in ("0", " 12 ", "-5", "+7", str(INT_MAX), str(-INT_MAX - 1))] == [
        0, 12, -5, 7, INT_MAX, -INT_MAX - 1]
    assert [parse_bounded_int(v) for v in ("", "1_000", "١٢", "1.0", "1e3", str(INT_MAX + 1), "9" * 5000)] == [
        None] * 7


# JSON in script blocks

def test_answers_in_the_show_hide_data_cannot_end_the_script_block(probe_app: Flask) -> None:
    client = probe_app.test_client()
    who = Respondent(client, "probe")
    who.start()
    # Page one refused (the text is too long): the "Other" answer is echoed into the page's data block.
    refused = who.answer({"used": "other", "used__other": BREAKOUT, "short": "far more than ten letters"})
    assert refused.history[0].status_code == 303  # shown again by a GET (PRG)
    second = who.answer({"used": "other", "used__other": BREAKOUT, "short": "ok"})
    assert who.section == "two"
    for page in (refused.text, second.text):
        block = page.split('id="showif-data">')[1].split("</script>")[0]
        assert "<" not in block and ">" not in block and "&" not in block and "\u2028" not in block
        assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in block
    # The page's own script reads it back as the very answer.
    import json

    data = json.loads(second.text.split('id="showif-data">')[1].split("</script>")[0])
    assert data["earlier"]["used.other"] == BREAKOUT


# State changes only by POST

def test_assistant_settings_change_only_by_post(probe_app: Flask, lead: FlaskClient) -> None:
    with probe_app.app_context(), db.new_session() as s:
        project = P.create_project(s, "settings", "lead@example.org")
        P.add_units(s, project, [P.NewUnit("import:1", "The food was cold.")])
        s.commit()
    before = lead.get("/coding/settings/")
    assert "0.25" in before.text
    for query in ("min=0.9", "train=consensus", "min=0.9&train=consensus"):
        lead.get(f"/coding/settings/code?filter=all&{query}")
        lead.get(f"/coding/settings/themes?{query}")
    assert 'value="0.25"' in lead.get("/coding/settings/").text  # no GET changed it
    saved = lead.post("/coding/settings/assist/settings", data={"csrf_token": csrf_from(before.text),
                                                                "threshold": "0.9"})
    assert saved.status_code == 302
    assert 'value="0.90"' in lead.get("/coding/settings/").text  # the control: the form's POST does


# The themes page when every unit is coded

def test_themes_page_works_when_every_unit_is_coded(probe_app: Flask, lead: FlaskClient) -> None:
    with probe_app.app_context(), db.new_session() as s:
        project = P.create_project(s, "done", "lead@example.org")
        added = P.add_units(s, project, [P.NewUnit(f"import:{i}", t) for i, t in enumerate(
            ["The food was cold.", "Parking was expensive.", "Noise at night."])])
        C.add_code(s, project, None, "Food", "lead@example.org", definition="Meals", example="cold food")
        food = C.load_tree(s, project.id).id_of("Food")
        for unit in added.units:
            Ap.set_codes(s, project, unit.id, "lead@example.org", {food})
        s.commit()
    for query in ("", "?among=uncoded"):
        page = lead.get(f"/coding/done/themes{query}")
        assert page.status_code == 200, page.text[:300]


# No server banner

@pytest.mark.skipif(not Path("gunicorn.conf.py").exists(), reason="gunicorn reads gunicorn.conf.py from the "
                    "directory it starts in: run from the checkout's root")
def test_gunicorn_sends_no_server_banner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    make_test_app(url, tmp_path).extensions["surveykit.engine"].dispose()
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "banner-test"}
    with gunicorn(env, tmp_path) as server, urllib.request.urlopen(server.base + "/") as answer:
        headers = dict(answer.headers)
    assert "Server" not in headers and "gunicorn" not in str(headers).lower()
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
