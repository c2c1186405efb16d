"""Every shipped instrument answered with the keyboard alone, in Chromium at 320 px, JavaScript on and off.

Tab, Shift-Tab, Space, the arrow keys and typing only. On every page: Enter in an empty field goes forward or
shows the validation error (never back); every page and error state has no axe-core violation and is no wider
than the screen; a focused control is never hidden (under the matrix's sticky stem, say), and a matrix's stem is
in view while one of its items has focus; the forward button's word is true. One browser per instrument,
language and JavaScript setting; the languages are the instrument's own, so a translation added to an instrument
adds its run here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from page_replay import HAVE_BROWSER, NO_BROWSER
from phone_browser import axe_violations, overflow, phone, replaced_after, surveys_served
from sqlalchemy import select

from instrument.model import Instrument
from instrument.parser import load_instrument
from surveyapp.db import new_session
from surveyapp.models import Response

from conftest import INSTRUMENTS

pytestmark = pytest.mark.skipif(not HAVE_BROWSER, reason=NO_BROWSER)

WIDTH = 320
TYPED = "Keyboard answer"
DATE_KEYS = "01012022"  # 1 January 2022 whether the field reads mm/dd/yyyy or dd/mm/yyyy
PAGE_RE = re.compile(r"/s/[^/]+/(?:p/(?P<section>[^/?#]+)|(?P<thanks>thanks))")

FOCUSED = """
const e = document.activeElement;
// A link that wraps has a box per line: the middle of its bounding box may fall outside all of them.
const r = e.getClientRects()[0] || e.getBoundingClientRect();
const x = r.left + r.width / 2, y = r.top + r.height / 2;
const hit = (x >= 0 && x < innerWidth && y >= 0 && y < innerHeight) ? document.elementFromPoint(x, y) : null;
const label = e.closest('label');
const q = e.closest('.question');
const matrix = e.closest('.matrix');
const stem = matrix ? matrix.querySelector(':scope > legend').getBoundingClientRect() : null;
return {tag: e.tagName.toLowerCase(), type: (e.type || '').toLowerCase(), name: e.name || '', value: e.value || '',
        other: e.classList.contains('other-text'), forward: e.matches('button[value=next]'),
        start: e.matches('button.primary') && !e.name, summary: e.id === 'error-summary',
        seen: !!hit && (hit === e || e.contains(hit) || (!!label && label.contains(hit))),
        stem: !stem || (stem.top >= -1 && stem.bottom <= innerHeight),
        qid: q ? q.dataset.qid : null, outer: e.outerHTML.slice(0, 120)};
"""


def _instruments() -> list[Instrument]:
    return [load_instrument(p) for p in sorted(INSTRUMENTS.glob("*.yaml")) if not p.name.endswith(".report.yaml")]


def _cases() -> Iterator[Any]:
    for inst in _instruments():
        default = getattr(inst, "language", "en")
        for language in getattr(inst, "languages", [default]):
            for javascript in (True, False):
                yield pytest.param(inst.id, language, javascript,
                                   id=f"{inst.id}-{language}-{'js' if javascript else 'nojs'}")


CASES = list(_cases())


def _slug(instrument_id: str, language: str, javascript: bool) -> str:
    return f"{instrument_id}-{language.lower()}-{'js' if javascript else 'nojs'}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """Serve one survey per case from a fresh SQLite database under gunicorn; yield the base URL and the app."""
    surveys = [(case.values[0], _slug(*case.values)) for case in CASES]
    with surveys_served(tmp_path_factory.mktemp("keyboard"), INSTRUMENTS, surveys) as site:
        yield site


@dataclass
class Walk:
    """One respondent at the keyboard: what it pressed, the pages it checked, and what was wrong."""

    browser: Any
    inst: Instrument
    javascript: bool
    language: str
    keys: int = 0
    pages: int = 0
    axe_runs: int = 0
    enters: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    typed: dict[str, str] = field(default_factory=dict)
    picked: set[str] = field(default_factory=set)

    def press(self, *keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.browser).send_keys(*keys).perform()
        self.keys += len(keys)

    def focused(self, where: str) -> dict[str, Any]:
        state = self.browser.execute_script(FOCUSED)
        if not state["seen"] and state["tag"] != "body":
            self.problems.append(f"{where}: the focused control is hidden or out of view: {state['outer']}")
        if not state["stem"]:
            self.problems.append(f"{where}: the matrix's stem is out of view at {state['outer']}")
        return state

    def tab(self, where: str, back: bool = False) -> dict[str, Any]:
        from selenium.webdriver.common.keys import Keys

        if back:
            from selenium.webdriver.common.action_chains import ActionChains

            ActionChains(self.browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
            self.keys += 1
        else:
            self.press(Keys.TAB)
        return self.focused(where)

    def check(self, where: str) -> None:
        """Run axe-core and the width check on the page as it is now."""
        self.pages += 1
        self.axe_runs += 1
        self.problems += [f"{where}: {v}" for v in axe_violations(self.browser, self.javascript)]
        # A phone widens its layout viewport to fit a page too wide for it, so innerWidth alone would agree with
        # any scrollWidth: both are held to the screen's width.
        width, viewport = overflow(self.browser)
        if max(width, viewport) > WIDTH:
            self.problems.append(f"{where}: the page is {width} px wide ({viewport} px laid out) on a {WIDTH} px "
                                 "screen")
        lang = self.browser.execute_script("return document.documentElement.lang")
        if lang.split("-")[0].lower() != self.language.split("-")[0].lower():
            self.problems.append(f"{where}: <html lang={lang!r}> in a {self.language} survey")

    def where(self) -> tuple[int, str]:
        """Return the index of the page shown (len(sections) for the thanks page) and its name."""
        match = PAGE_RE.search(self.browser.current_url)
        assert match, f"not a respondent page: {self.browser.current_url}"
        if match["thanks"]:
            return len(self.inst.sections), "thanks"
        ids = [s.id for s in self.inst.sections]
        return ids.index(match["section"]), match["section"]

    def enter(self, state: dict[str, Any]) -> None:
        from selenium.webdriver.common.keys import Keys

        kind = state["type"] if state["tag"] == "input" else state["tag"]
        self.enters[kind] = self.enters.get(kind, 0) + 1
        replaced_after(self.browser, lambda: self.press(Keys.ENTER))

    def start(self, url: str) -> None:
        self.browser.get(url)
        self.check("intro")
        for _ in range(40):
            state = self.tab("intro")
            if state["start"]:
                self.enter(state)
                return
        raise AssertionError("Tab never reached the start button")

    def first_field(self, where: str) -> dict[str, Any]:
        for _ in range(200):
            state = self.tab(where)
            if state["tag"] in ("input", "select") and not state["other"] or state["forward"]:
                return state
        raise AssertionError(f"{where}: Tab never reached a field")

    def refused_when_empty(self, index: int, where: str) -> None:
        """Press Enter in the first field of an untouched page that asks for an answer: the errors, same page."""
        required = self.browser.execute_script(
            "return !!document.querySelector('.question:not([hidden]) .req')")
        if not required:
            return
        self.enter(self.first_field(where))
        after, name = self.where()
        assert after == index, f"{where}: Enter in an empty field went to {name}, not to the errors"
        state = self.browser.execute_script(FOCUSED)
        self.check(f"{where} (errors)")
        if self.browser.execute_script("return !document.getElementById('error-summary')"):
            self.problems.append(f"{where}: Enter on an unanswered page shows no error summary")
        # The page's own script moves focus to the summary: proof that JavaScript is on, or off.
        if state["summary"] != self.javascript:
            self.problems.append(f"{where}: error summary focused={state['summary']} with JavaScript "
                                 f"{'on' if self.javascript else 'off'}")

    def fill(self, where: str) -> None:
        """Tab through the page answering every control, up to the forward button."""
        from selenium.webdriver.common.keys import Keys

        questions = {q.id: q for q in self.inst.questions}
        ticked: set[str] = set()
        for _ in range(400):
            state = self.tab(where)
            if state["forward"]:
                return
            tag, kind, name = state["tag"], state["type"], state["name"]
            if tag == "input" and kind == "radio":
                # Down picks the next option, Up the first again: the arrows work and the first stays chosen.
                self.press(Keys.ARROW_DOWN, Keys.ARROW_UP)
                self.picked.add(name)
            elif tag == "input" and kind == "checkbox" and name not in ticked:
                self.press(Keys.SPACE)
                ticked.add(name)
            elif tag == "input" and kind == "date" and not state["value"]:
                self.press(DATE_KEYS)
                self.typed[name] = "2022-01-01"
            elif (tag == "textarea" or tag == "input" and kind == "text") and not state["other"] \
                    and not state["value"]:
                question = questions[state["qid"]]
                text = TYPED
                if question.type == "number":
                    text = str(int(question.minimum) if question.minimum is not None else 1)
                self.press(text)
                self.typed[name] = text
            elif tag == "select":
                self.press(Keys.ARROW_DOWN)
        raise AssertionError(f"{where}: Tab never reached the forward button")

    def forward(self, index: int, where: str) -> int:
        """Shift-Tab back up the whole page, Tab down to its first text field (else its first field) and press
        Enter there: the next page, never an earlier one."""
        # The button carries both its words (data-more, data-last), so the check reads in any language.
        word, last_word = self.browser.execute_script(
            "const b = document.querySelector('button[value=next]'); return [b.textContent.trim(), b.dataset.last]")
        fields: list[str] = []
        for _ in range(400):
            state = self.tab(where, back=True)
            if state["tag"] in ("a", "body") or state["summary"]:
                break
            if state["tag"] == "input" and not state["other"]:
                fields.append(state["type"])
        else:
            raise AssertionError(f"{where}: Shift-Tab never left the form")
        wanted = next((kind for kind in reversed(fields) if kind in ("text", "date")), None)
        while True:
            state = self.tab(where)
            if state["forward"] or state["tag"] == "input" and not state["other"] and wanted in (None, state["type"]):
                break
        self.enter(state)
        after, name = self.where()
        if after <= index:
            errors = self.browser.execute_script(
                "const s = document.getElementById('error-summary'); return s ? s.innerText : ''")
            raise AssertionError(f"{where}: Enter went to {name}, not forward ({errors or 'no errors shown'})")
        last = name == "thanks"
        if word == last_word and not last or self.javascript and last and word != last_word:
            self.problems.append(f"{where}: the forward button read {word!r} and led to {name}")
        return after

    def run(self, url: str) -> None:
        self.start(url)
        index, name = self.where()
        while name != "thanks":
            where = f"page {name}"
            self.check(where)
            self.refused_when_empty(index, where)
            self.fill(where)
            index = self.forward(index, where)
            _, name = self.where()
        self.check("thanks")


@pytest.mark.parametrize(("instrument_id", "language", "javascript"), CASES)
def test_keyboard_only_respondent(site, tmp_path: Path, instrument_id: str, language: str, javascript: bool):
    base, app = site
    slug = _slug(instrument_id, language, javascript)
    [inst] = [i for i in _instruments() if i.id == instrument_id]
    browser = phone(tmp_path, width=WIDTH, height=640, javascript=javascript, language=language)
    walk = Walk(browser, inst, javascript, language)
    try:
        walk.run(f"{base}/s/{slug}")
    finally:
        browser.quit()
        shutil.rmtree(tmp_path / "chrome", ignore_errors=True)
    print(f"\nkeyboard {slug}: {walk.pages} pages and error states, {walk.axe_runs} axe runs, "
          f"{len(walk.problems)} problems, {walk.keys} keys, Enter in {walk.enters}")
    assert walk.problems == []
    with app.app_context(), new_session() as session:
        [response] = session.scalars(select(Response).where(Response.survey_slug == slug)).all()
    answers = response.answers
    for name, text in walk.typed.items():
        assert name not in answers or str(answers[name]) in (text, f"{text}.0"), (name, answers[name])
    questions = {q.id: q for q in inst.questions}
    for name in walk.picked:
        qid = name.split("__")[0]
        first = questions[qid].choices[0].code
        got = answers.get(qid)
        got = got.get(name.split("__")[1]) if isinstance(got, dict) else got
        assert qid not in answers or str(got) == first, (name, got, first)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_axe_and_the_width_check_see_a_broken_page(tmp_path: Path, javascript: bool):
    # The control for the suite's zeros: a page with an unlabelled field, an image without text and a wide
    # table gives axe violations and a width past the screen, with scripts off as well as on.
    page = ("<!doctype html><html><head><title>Broken</title><meta name=viewport content='width=device-width'>"
            "</head><body><main><h1>Broken</h1><img src='x.png'><input type=text>"
            "<pre>" + "wide " * 200 + "</pre></main></body></html>")
    (tmp_path / "broken.html").write_text(page)
    browser = phone(tmp_path, width=WIDTH, javascript=javascript)
    try:
        browser.get((tmp_path / "broken.html").as_uri())
        found = {line.split(" ")[0] for line in axe_violations(browser, javascript)}
        width, viewport = overflow(browser)
    finally:
        browser.quit()
    assert {"html-has-lang", "image-alt", "label"} <= found
    assert width > WIDTH and viewport > WIDTH  # the phone zoomed out to lay the page out wider than itself
