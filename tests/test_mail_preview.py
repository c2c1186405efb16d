"""The e-mail wording editor's preview and its "send a test to my own address", against a real loopback SMTP server.

The preview is a sandboxed frame with its own policy (inline styles, nothing else); the test message arrives at
the logged-in investigator's address with Date, Message-ID and both parts, and its link opens no invitation.
"""

from __future__ import annotations

import pytest
from smtp_server import body, link_in, smtp  # noqa: F401  (fixture)
from sqlalchemy import func, select
from test_admin import admin, create, mapp, upload  # noqa: F401  (fixtures)

from surveyapp.db import new_session
from surveyapp.invitations.wording import SAMPLE_TOKEN
from surveyapp.models import Invitation, MailTemplate

from conftest import csrf_from


def test_the_preview_shows_the_saved_wording_in_a_sandboxed_frame(mapp, admin):  # noqa: F811
    create(admin)
    page = admin.get("/admin/s/dept/mail/invitation")
    assert page.status_code == 200
    assert '<iframe class="mail-preview" name="mail-preview" title="Preview of the invitation e-mail" sandbox' \
        in page.text
    frame = admin.get("/admin/s/dept/mail/invitation/preview")
    assert frame.status_code == 200
    policy = frame.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert "script-src" not in policy and frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    # The editor page itself keeps the strict policy.
    assert "style-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<h1>Invitation: Department survey</h1>" in frame.text
    assert f"https://survey.example/i/{SAMPLE_TOKEN}" in frame.text
    assert "Answer the survey</a>" in frame.text and "Plain text part" in frame.text
    # Never a real invitation link: the sample opens nothing.
    follow = admin.get(f"/i/{SAMPLE_TOKEN}")
    assert follow.status_code == 404


def test_the_preview_of_typed_text_is_escaped_checked_and_not_saved(mapp, admin):  # noqa: F811
    create(admin)
    page = admin.get("/admin/s/dept/mail/reminder")
    form = {"csrf_token": csrf_from(page.text), "action": "preview", "subject": "Soon: {{ survey_title }}",
            "text_body": "Hello <script>alert(1)</script>, please answer: {{ link }}\n",
            "html_body": "<p>{{ department }} <a href=\"{{ link }}\">Go</a></p>"}
    frame = admin.post("/admin/s/dept/mail/reminder/preview", data=form)
    assert frame.status_code == 200
    assert "<h1>Soon: Department survey</h1>" in frame.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frame.text and "<script>" not in frame.text
    assert "(the invitee&#39;s department)" in frame.text
    with mapp.app_context(), new_session() as s:
        assert s.get(MailTemplate, ("dept", "reminder")) is None
    broken = admin.post("/admin/s/dept/mail/reminder/preview", data={**form, "text_body": "no link"})
    assert broken.status_code == 422 and "must contain {{ link }}" in broken.text


def test_a_test_message_goes_to_my_own_address_with_every_header(mapp, admin, smtp):  # noqa: F811
    create(admin)
    upload(admin, "dept", b"email,department\ninvitee@hospital.example,EM\n", "r.csv")
    page = admin.get("/admin/s/dept/mail/invitation")
    form = {"csrf_token": csrf_from(page.text), "action": "test", "subject": "Invitation: {{ survey_title }}",
            "text_body": "Dear colleague, " + "this sentence is long enough to need wrapping at a word " * 3
                         + "\n\n{{ link }}\n",
            "html_body": "<p><a href=\"{{ link }}\" style=\"padding:10px;background:#00703c\">Go</a></p>"}
    sent = admin.post("/admin/s/dept/mail/invitation/test", data=form)
    assert sent.status_code == 200, sent.text
    assert "A test of the invitation was sent to lead@example.org" in sent.text
    [msg] = smtp.handler.messages
    assert msg["To"] == "lead@example.org" and msg["Subject"] == "[Test] Invitation: Department survey"
    assert msg["Date"] and msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@hospital.example>")
    assert msg.get_content_type() == "multipart/alternative"
    text, html = body(msg), body(msg, "html")
    assert all(len(line) <= 76 for line in text.splitlines()), text
    assert all(not line.endswith(" ") for line in text.splitlines())
    assert "style=\"padding:10px" in html and f"/i/{SAMPLE_TOKEN}" in html
    link = link_in(msg)
    assert link == f"https://survey.example/i/{SAMPLE_TOKEN}"
    assert admin.get(f"/i/{SAMPLE_TOKEN}").status_code == 404
    # Nothing about the invitees changed, and the typed text was not saved.
    with mapp.app_context(), new_session() as s:
        assert s.scalar(select(func.count()).select_from(Invitation).where(Invitation.token_hash.is_not(None))) == 0
        assert s.get(MailTemplate, ("dept", "invitation")) is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_test_the_server_refuses_says_so(mapp, admin, smtp):  # noqa: F811
    create(admin)
    smtp.stop()
    page = admin.get("/admin/s/dept/mail/invitation")
    form = {"csrf_token": csrf_from(page.text), "action": "test", "subject": "Hi",
            "text_body": "{{ link }}\n", "html_body": ""}
    sent = admin.post("/admin/s/dept/mail/invitation/test", data=form)
    assert sent.status_code == 502 and "The test was not sent to lead@example.org" in sent.text
    assert "Traceback" not in sent.text
