"""Respondent pages: Enter goes forward, the button says what it does, Post/Redirect/Get after a refused page,
error-summary links, "Other" needs its text, no ids in respondent text, focus contrast, static files and favicon."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pytest
from lxml import html as lxml_html
from test_respond import open_survey

from surveyapp.db import new_session
from surveyapp.models import Survey
from surveyapp.surveys import instrument_of

from conftest import INSTRUMENTS, csrf_from, make_test_app
from respondent import Respondent

STATIC = Path(__file__).resolve().parents[1] / "surveyapp" / "static"

ASKED_OF = """\
id: asked-of
title: What the respondent reads of conditions and "Other"
version: 1
sections:
  - id: the_page
    questions:
      - {id: conoce, type: single_choice, text: Do you know the program?, choices: yes_no, required: true}
      - {id: opinion, type: text, text: What do you think of it?, show_if: {question: conoce, equals: "yes"}}
      - {id: where, type: multiple_choice, text: Where did you hear of it?, other: true,
         choices: [{code: a, label: A colleague}]}
"""


def _form_buttons(page: str) -> list[tuple[str, str]]:
    form = lxml_html.fromstring(page).xpath("//form[@method='post'][.//input[@name='action'] or .//button]")[-1]
    return [(b.get("value") or "", b.text_content().strip())
            for b in form.xpath(".//button[not(@type) or @type='submit']")]


def test_forward_button_comes_first_on_every_page_of_every_instrument(app, client, runner):
    for path in sorted(INSTRUMENTS.glob("*.yaml")):
        if path.name.endswith(".report.yaml"):
            continue
        slug = open_survey(runner, path.stem)
        with app.app_context(), new_session() as session:
            inst = instrument_of(session.get(Survey, slug))
        Respondent(client, slug).start()
        for section in inst.sections:
            page = client.get(f"/s/{slug}/p/{section.id}")
            assert page.status_code == 200
            buttons = _form_buttons(page.text)
            # Enter in a field presses the form's first submit button: it must be the forward one.
            assert buttons[0][0] == "next", (slug, section.id, buttons)
            assert buttons[0][1] in ("Continue", "Submit my answers"), buttons


def test_department_button_says_continue_until_the_last_page(app, client, runner):
    slug = open_survey(runner, "department-survey")
    r = Respondent(client, slug)
    r.start()
    assert _form_buttons(r.page.text)[0][1] == "Continue"
    page = r.answer({"department": "em"})
    assert "Page 2 of 6" in page.text
    assert _form_buttons(page.text) == [("next", "Continue"), ("back", "Back")]
    page = r.answer({"aware": "yes"})
    for answers in ({"interaction": "had"}, {"interaction_count": "two"}, {}):
        assert _form_buttons(page.text)[0][1] == "Continue", r.section
        page = r.answer(answers)
    assert r.section == "comments"
    assert _form_buttons(page.text)[0][1] == "Submit my answers"
    # Back on page 2, with "No" answered, nothing follows: the button says so without JavaScript.
    client.post(f"/s/{slug}/p/awareness", data={"csrf_token": csrf_from(page.text), "aware": "no",
                                               "action": "back"})
    page = client.get(f"/s/{slug}/p/awareness")
    assert _form_buttons(page.text)[0][1] == "Submit my answers"
    # The script gets what it needs to change the word live: each later page hangs on "aware" being "yes".
    data = json.loads(lxml_html.fromstring(page.text).get_element_by_id("showif-data").text)
    def reads(cond: dict) -> set[str]:
        return {cond["question"]} - {""} | {q for part in cond["parts"] for q in reads(part)}
    assert data["later"] and all(conds and set().union(*map(reads, conds)) == {"aware"} for conds in data["later"])


def test_one_page_survey_enter_submits_only_when_complete(app, client, runner):
    slug = open_survey(runner, "nomination")
    r = Respondent(client, slug)
    r.start()
    assert _form_buttons(r.page.text) == [("next", "Submit my answers")]
    page = r.answer({"nominee_2": "Dr B"})  # what Enter in the second field sends
    assert "There is a problem" in page.text and "Thank you" not in page.text


def test_refused_page_is_shown_by_a_get(app, client, runner):
    slug = open_survey(runner, "nomination")
    r = Respondent(client, slug)
    r.start()
    posted = client.post(f"/s/{slug}/p/nominate", data={"csrf_token": csrf_from(r.page.text), "action": "next",
                                                        "nominee_1": "", "nominee_2": "Dr B"})
    assert posted.status_code == 303 and posted.headers["Location"].endswith(f"/s/{slug}/p/nominate")
    for _reload in range(2):
        page = client.get(f"/s/{slug}/p/nominate")
        assert page.status_code == 200 and "This question needs an answer." in page.text
        assert 'value="Dr B"' in page.text  # what was typed is kept
    done = client.post(f"/s/{slug}/p/nominate", data={"csrf_token": csrf_from(page.text), "action": "next",
                                                     "nominee_1": "Dr A"}, follow_redirects=True)
    assert "Thank you" in done.text


def test_error_summary_links_to_the_first_input_with_the_message_only(app, client, runner):
    slug = open_survey(runner, "supporter-training")
    r = Respondent(client, slug)
    r.start()
    page = r.answer({"confidence__role": "5"})
    tree = lxml_html.fromstring(page.text)
    links = tree.xpath("//div[@id='error-summary']//a")
    assert links
    for link in links:
        target = link.get("href")[1:]
        element = tree.get_element_by_id(target)
        assert element.tag in ("input", "select", "textarea"), target
        assert link.text_content().strip() in ("This question needs an answer.", "Answer every statement.")


@pytest.fixture
def same_page_app(database_url, tmp_path):
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    (folder / "asked-of.yaml").write_text(ASKED_OF)
    application = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    yield application
    application.extensions["surveykit.engine"].dispose()


def test_other_needs_its_text_and_conditions_read_as_questions(same_page_app):
    client = same_page_app.test_client()
    open_survey(same_page_app.test_cli_runner(), "asked-of")
    r = Respondent(client, "asked-of")
    page = r.start()
    note = lxml_html.fromstring(page.text).xpath("//p[contains(@class, 'only-if')]")[0].text_content()
    assert note == "Only if you answered “Yes” to “Do you know the program?”."
    assert "conoce" not in note
    page = r.answer({"conoce": "no", "where": ["a", "other"]})
    [link] = lxml_html.fromstring(page.text).xpath("//div[@id='error-summary']//a")
    assert link.text_content() == "Say what 'Other' is." and link.get("href") == "#where-other-text"
    done = r.answer({"conoce": "no", "where": ["a", "other"], "where__other": "A poster"})
    assert "Thank you" in done.text


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_focus_ring_contrast():
    css = (STATIC / "style.css").read_text()
    inner = re.search(r"--focus-inner:\s*(#[0-9a-fA-F]{6})", css).group(1)
    outer = re.search(r"--focus-outer:\s*(#[0-9a-fA-F]{6})", css).group(1)
    rule = re.search(r":focus-visible\s*\{([^}]*)\}", css).group(1)
    assert "var(--focus-inner)" in rule.split("outline:")[1].split(";")[0]
    assert "var(--focus-outer)" in rule.split("box-shadow:")[1].split(";")[0]
    print(f"focus ring: inner {inner} on white {_contrast(inner, '#ffffff'):.2f}:1, "
          f"inner on outer {outer} {_contrast(inner, outer):.2f}:1, outer on white {_contrast(outer, '#ffffff'):.2f}:1")
    assert _contrast(inner, "#ffffff") >= 3
    assert _contrast(inner, outer) >= 3  # the ring shows on yellow, and the yellow on the dark primary button
    assert _contrast(outer, "#0b4f8a") >= 3
    assert _contrast("#ffbf47", "#ffffff") < 3  # control: the yellow alone fails on white


def test_static_files_cached_and_compressed_and_favicon(app, client, runner):
    slug = open_survey(runner, "nomination")
    intro = client.get(f"/s/{slug}")
    css_url = re.search(r'href="(/static/style\.css\?v=[0-9a-f]{12})"', intro.text).group(1)
    assert "gzip" not in intro.headers.get("Content-Encoding", "")
    assert client.get(f"/s/{slug}", headers={"Accept-Encoding": "gzip"}).headers.get("Content-Encoding") is None
    plain = client.get(css_url)
    assert plain.status_code == 200 and plain.headers.get("Content-Encoding") is None
    assert "max-age=31536000" in plain.headers["Cache-Control"] and "immutable" in plain.headers["Cache-Control"]
    zipped = client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == (STATIC / "style.css").read_bytes()
    print(f"style.css: {len(plain.data)} bytes, gzip {len(zipped.data)} bytes")
    stale = client.get("/static/style.css?v=000000000000")
    assert "immutable" not in stale.headers["Cache-Control"]  # control: an old version is not pinned
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"
    assert "max-age" in icon.headers["Cache-Control"]
