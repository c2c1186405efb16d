"""The instrument pages: every error at once, saving as a new version, the preview that stores nothing, bad files."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from auth_helpers import log_in, make_user
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from surveyapp.db import new_session
from surveyapp.models import Base, InstrumentVersion, Response, Survey

from conftest import csrf_from, make_test_app

THREE_ERRORS = """\
id: three-errors
version: 1
title: Three errors
sections:
  - id: first
    questions:
      - id: aware
        type: yesno
        text: Are you aware?
      - id: followup
        type: text
        text: Why?
        show_if: {question: aware, equals: "yes"}
      - id: age
        type: number
        text: Age
        min: 90
        max: 10
  - id: second
    questions:
      - id: rating
        type: likert
        scale: nosuchscale
        text: Rate it
"""

SKIPS = """\
id: skips
version: {version}
title: Skip logic
sections:
  - id: first
    title: Awareness
    questions:
      - id: aware
        type: single_choice
        text: Have you heard of the ethics service?
        choices: yes_no
        required: true
  - id: details
    title: What you know
    questions:
      - id: how
        type: text
        text: How did you hear of it?
        show_if: {{question: aware, equals: "yes"}}
  - id: why_not
    title: Not heard of it
    questions:
      - id: where
        type: text
        text: Where would you look for it?
        show_if: {{question: aware, equals: "no"}}
"""

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.fixture
def lead(app: Flask) -> FlaskClient:
    make_user(app.test_cli_runner())
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client


def save_text(client: FlaskClient, text: str) -> object:
    page = client.get("/admin/instruments/new")
    return client.post("/admin/instruments/", data={"csrf_token": csrf_from(page.text), "source": text})


def upload(client: FlaskClient, data: bytes, name: str) -> object:
    page = client.get("/admin/instruments/")
    # The body is built here: werkzeug's test client spools a large file to a temporary file it never closes.
    boundary = "surveykit-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_from(page.text)}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/admin/instruments/", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def rows(app: Flask) -> dict[str, int]:
    """Count the rows of every table."""
    with app.app_context(), new_session() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables}


def test_every_error_is_listed_at_once_and_nothing_is_stored(app: Flask, lead: FlaskClient):
    before = rows(app)
    response = save_text(lead, THREE_ERRORS)
    assert response.status_code == 422
    page = response.text
    assert "3 errors; nothing was saved" in page
    for line, what in ((8, "question &#39;aware&#39;: unknown type &#39;yesno&#39;"),
                       (17, "question &#39;age&#39;: min is greater than max"),
                       (23, "question &#39;rating&#39;: unknown scale &#39;nosuchscale&#39;")):
        assert f"editor:{line}: {what}" in page
    assert "8 |         type: yesno" in page  # the line itself, beside its error
    assert "followup" not in page.split('id="errors"')[1].split("</ol>")[0]  # no knock-on error
    assert "type: yesno" in page.split("<textarea")[1]  # the text comes back to be corrected
    assert rows(app) == before


def test_an_uploaded_instrument_is_a_version_the_cli_and_the_new_survey_page_use(app: Flask, lead: FlaskClient):
    response = upload(lead, SKIPS.format(version=1).encode(), "skips.yaml")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/instruments/skips"
    listed = lead.get("/admin/instruments/").text
    assert "Skip logic" in listed and "saved here" in listed and "department-survey" in listed
    runner = app.test_cli_runner()
    cli = runner.invoke(args=["instruments", "list"])
    assert "skips" in cli.output and "(saved in the browser)" in cli.output, cli.output
    created = runner.invoke(args=["surveys", "create", "skips", "--id", "skips-cli"])
    assert created.exit_code == 0, created.output
    form = lead.get("/admin/new")
    assert 'value="skips"' in form.text
    made = lead.post("/admin/new", data={"csrf_token": csrf_from(form.text), "instrument": "skips",
                                         "slug": "skips-web", "title": "", "mode": "open", "reminder_days": "7"})
    assert made.status_code == 302, made.text
    with app.app_context(), new_session() as s:
        versions = s.scalars(select(InstrumentVersion).filter_by(instrument_id="skips")).all()
        assert [(v.version, v.uploaded) for v in versions] == [(1, True)]
        assert {x.instrument_version_id for x in s.scalars(select(Survey))} == {versions[0].id}
    # Control: an instrument nobody saved is not offered.
    assert runner.invoke(args=["surveys", "create", "never-saved", "--id", "nope"]).exit_code == 1


def test_a_changed_text_under_an_answered_version_is_refused_with_the_next_number(app: Flask, lead: FlaskClient):
    assert save_text(lead, SKIPS.format(version=1)).status_code == 302
    assert app.test_cli_runner().invoke(args=["surveys", "create", "skips", "--id", "sk"]).exit_code == 0
    changed = SKIPS.format(version=1).replace("Skip logic", "Skip logic, reworded")
    # Control: unanswered, the version's text may still change.
    assert save_text(lead, changed).status_code == 302
    with app.app_context(), new_session() as s:
        row = s.scalars(select(InstrumentVersion).filter_by(instrument_id="skips")).one()
        s.add(Response(survey_slug="sk", instrument_id="skips", instrument_version=1, instrument_sha256=row.sha256,
                       submitted_on=dt.date.today(), answers={"aware": "no", "where": None}))
        s.commit()
        kept = row.source_text
    refused = save_text(lead, changed.replace("reworded", "reworded again"))
    assert refused.status_code == 409
    assert "changed since version 1 was answered (1 responses)" in refused.text
    assert "change &#39;version: 1&#39; to &#39;version: 2&#39;" in refused.text
    with app.app_context(), new_session() as s:
        assert s.scalars(select(InstrumentVersion).filter_by(instrument_id="skips")).one().source_text == kept
    saved = save_text(lead, changed.replace("reworded", "reworded again").replace("version: 1", "version: 2"))
    assert saved.status_code == 302
    listed = lead.get("/admin/instruments/").text
    assert "v2 (0), v1 (1)" in listed


def preview_step(client: FlaskClient, token: str, text: str, page: str | None = None, **fields: str) -> str:
    data = {"csrf_token": token, "source": text, **fields}
    if page is not None:
        data["section"] = page
    response = client.post("/admin/instruments/preview", data=data)
    assert response.status_code == 200, response.text
    return response.text


def carried(html: str) -> str:
    found = html.split('name="answers" value="')[1].split('"')[0]
    return found.replace("&#34;", '"').replace("&quot;", '"')


@pytest.mark.parametrize(("answer", "second", "never"), [("no", "<h1>Not heard of it</h1>", "<h1>What you know"),
                                                         ("yes", "<h1>What you know</h1>", "<h1>Not heard")])
def test_the_preview_follows_skip_logic_and_stores_nothing(app: Flask, lead: FlaskClient, answer: str, second: str,
                                                           never: str):
    text = SKIPS.format(version=1)
    token = csrf_from(lead.get("/admin/instruments/new").text)
    before = rows(app)
    first = preview_step(lead, token, text)
    assert "<h1>Awareness</h1>" in first and "Page 1 of" in first
    assert "answers are not stored" in first
    refused = preview_step(lead, token, text, "first", answers=carried(first), action="next")
    assert "<h1>Awareness</h1>" in refused and "There is a problem" in refused
    page2 = preview_step(lead, token, text, "first", answers=carried(first), action="next", aware=answer)
    assert second in page2 and never not in page2
    assert json.loads(carried(page2)) == {"aware": answer}
    back = preview_step(lead, token, text, page2.split('name="section" value="')[1].split('"')[0],
                        answers=carried(page2), action="back")
    assert "<h1>Awareness</h1>" in back
    done = preview_step(lead, token, text, page2.split('name="section" value="')[1].split('"')[0],
                        answers=carried(page2), action="next")
    assert "End of the preview" in done
    assert rows(app) == before


def test_the_preview_of_a_saved_instrument_and_of_a_text_with_errors(app: Flask, lead: FlaskClient):
    assert save_text(lead, SKIPS.format(version=1)).status_code == 302
    editor = lead.get("/admin/instruments/skips")
    assert 'src="/admin/instruments/skips/preview"' in editor.text and 'name="preview"' in editor.text
    shown = lead.get("/admin/instruments/skips/preview")
    assert "Have you heard of the ethics service?" in shown.text
    token = csrf_from(editor.text)
    wrong = lead.post("/admin/instruments/preview", data={"csrf_token": token, "source": THREE_ERRORS})
    assert wrong.status_code == 422 and "editor:23:" in wrong.text and "editor:8:" in wrong.text


def test_only_the_preview_may_be_framed_and_only_by_this_site(lead: FlaskClient):
    preview = lead.get("/admin/instruments/preview")
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "script-src 'self'" in preview.headers["Content-Security-Policy"]
    editor = lead.get("/admin/instruments/new")  # control: every other page stays unframable
    assert "frame-ancestors 'none'" in editor.headers["Content-Security-Policy"]
    assert editor.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(("data", "name", "message"), [
    ("id: x\ntitle: é\n".encode("latin-1"), "latin.yaml", "latin.yaml:2: not UTF-8 text (byte 14)"),
    (SKIPS.format(version=1).encode(), "skips.txt", "skips.txt: an instrument is a .yaml or .yml file"),
    (b"# " + b"x" * 1_000_100 + b"\n", "huge.yaml", "huge.yaml: larger than 1,000,000 bytes"),
    (BOMB.encode(), "bomb.yaml", "bomb.yaml:5: more than 100,000 values"),
    (b"id: x\nversion: !!python/object:os.system 1\n", "tag.yaml", "tag.yaml:2: tags such as"),
])
def test_bad_files_get_one_clear_error_and_store_nothing(app: Flask, lead: FlaskClient, data: bytes, name: str,
                                                        message: str):
    before = rows(app)
    response = upload(lead, data, name)
    assert response.status_code == 422
    assert message in response.text, response.text[-3000:]
    assert "nothing was saved" in response.text
    assert rows(app) == before


@pytest.fixture
def small_app(database_url: str, tmp_path) -> Iterator[Flask]:
    application = make_test_app(database_url, tmp_path, SURVEYKIT_MAX_REQUEST_MB=1)
    yield application
    application.extensions["surveykit.engine"].dispose()


def test_a_file_over_the_request_limit_gets_the_friendly_413(small_app: Flask):
    make_user(small_app.test_cli_runner())
    client = small_app.test_client()
    log_in(client)
    response = upload(client, b"#" * (2 * 1024 * 1024), "big.yaml")
    assert response.status_code == 413 and "larger than the 1 MB" in response.text


def test_the_pages_need_a_log_in(client: FlaskClient):
    for url in ("/admin/instruments/", "/admin/instruments/new", "/admin/instruments/preview",
                "/admin/instruments/department-survey", "/admin/instruments/department-survey/preview"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], url
