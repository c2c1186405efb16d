"""The e-mail as a mail server sees it: Date and Message-ID headers, a plain part wrapped at words, links whole."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

from smtp_server import body, smtp  # noqa: F401  (fixture)

from surveyapp.invitations.wording import default_template, render_email
from surveyapp.mail import Email, Mailer, SmtpSettings, wrap_text

LINK = "https://survey.example/i/" + "A" * 90
LONG = ("Your answers are stored without your address, and the research team sees only whether you have answered "
        "so that the one reminder goes to those who have not.")


def test_wrap_text_wraps_long_lines_at_words_and_keeps_links_and_short_lines():
    text = f"Dear colleague,\n\n{LONG}\n\n{LINK}\n  {LONG}\nDr A. Smith\nEmergency Medicine\n"
    wrapped = wrap_text(text)
    lines = wrapped.splitlines()
    assert all(len(line) <= 76 for line in lines if line != LINK)
    assert LINK in lines  # never broken: a broken link does not work
    assert " ".join(wrapped.split()) == " ".join(text.split())  # only whitespace changed
    assert lines[-2:] == ["Dr A. Smith", "Emergency Medicine"]  # the writer's own breaks kept
    indented = [line for line in lines if line.startswith("  ")]
    assert len(indented) >= 2  # the indented paragraph keeps its indent on every line
    assert wrapped.endswith("\n")
    # Control: the long line really was over the width, so the wrap did something.
    assert max(len(line) for line in text.splitlines()) > 76


def test_message_through_a_real_smtp_server_has_date_and_message_id(smtp):  # noqa: F811
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port, sender="research@hospital.example", rate=0.0)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with Mailer(settings) as mailer:
        mailer.send(Email(to="a@hospital.example", subject="Invitation", text=f"{LONG}\n\n{LINK}\n",
                          html=f'<p><a href="{LINK}">Answer the survey</a></p>'))
    after = dt.datetime.now(dt.UTC)
    (msg,) = smtp.handler.messages
    sent = parsedate_to_datetime(msg["Date"])
    assert sent.tzinfo is not None and before <= sent <= after
    assert msg["Message-ID"].endswith("@hospital.example>")
    assert msg.get_content_type() == "multipart/alternative"
    plain = body(msg)
    assert LINK in plain.splitlines()
    assert all(len(line) <= 76 for line in plain.splitlines() if line != LINK)


def test_shipped_wording_has_a_button_and_breaks_lines_only_where_they_are_full():
    for kind in ("invitation", "reminder"):
        for open_mode in (False, True):
            context = {"survey_title": "Department-wide survey of physicians", "link": LINK,
                       "department": "EM", "closes_on": dt.date(2022, 4, 15), "open_mode": open_mode}
            email = render_email(*default_template(kind), "a@hospital.example", context)
            plain = wrap_text(email.text)
            for paragraph in plain.split("\n\n"):
                lines = [line for line in paragraph.splitlines() if line]
                # A line broken before it is full is a break mid-sentence (what the old wording had).
                assert all(len(line) > 55 for line in lines[:-1] if LINK not in line), (kind, open_mode, lines)
            assert email.html is not None and 'style="display:inline-block' in email.html  # a real button
            assert f'href="{LINK}"' in email.html
