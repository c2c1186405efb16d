"""The paper's whole workflow in the browser, without a shell after the first account.

Real Chromium (one profile per person, and a second profile for the respondent who changes device), the app under
gunicorn, a real SMTP server on loopback. The lead invites two colleagues, who set their passwords from the e-mail;
uploads an instrument with three errors, sees all three, fixes them and previews the pages at 390 px; creates an
invitation survey; answers twice in test mode and deletes those answers; uploads a roster; sends the invitations;
two invitees answer from their e-mailed links (one starts on a phone and finishes on a second device); the lead
sends the reminder now, sees exact rates, closes the survey after confirming; creates a coding project from the
open-ended questions; the two colleagues code a round; the lead downloads the theme workbook.

Each step checks what the person would see, and the database or the mail server where the page cannot say it.
Skips with the reason when Chromium or its driver is not installed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from auth_helpers import make_user
from page_replay import chrome_options
from phone_browser import WATCH, WIDE, axe_violations, submit, wait_for
from servers import gunicorn
from smtp_server import SmtpServer, body, smtp  # noqa: F401 (the fixture)
from sqlalchemy import func, select

from surveyapp.db import new_session
from surveyapp.models import Invitation, Response

from conftest import make_test_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

LEAD, LEAD_PASSWORD = "lead@hospital.example", "lead's long passphrase"
COLLEAGUES = {"ben@hospital.example": ("Ben Okafor", "investigator", "ben's long passphrase"),
              "cleo@hospital.example": ("Cleo Martin", "coder", "cleo's long passphrase")}
PUBLIC = "https://survey.example"  # SURVEYKIT_BASE_URL: the links in e-mails, rewritten to the served address

# The first upload: three mistakes, each on its own line.
BROKEN = """\
id: peer-support
version: 1
title: Peer support feedback
sections:
  - id: about
    title: About you
    questions:
      - id: department
        type: single_choice
        text: Which department do you work in?
        choices: departmnts
        required: true
      - id: contacted
        type: yesno
        text: Did a peer supporter contact you?
  - id: views
    title: Your views
    questions:
      - id: helped
        type: text
        text: What helped you most?
        show_if: {question: contact, equals: "yes"}
      - id: change
        type: text
        text: What should change?
"""

FIXED = """\
id: peer-support
version: 1
title: Peer support feedback
choices:
  departments:
    - {code: em, label: Emergency Medicine}
    - {code: icu, label: Intensive Care Unit}
sections:
  - id: about
    title: About you
    questions:
      - id: department
        type: single_choice
        text: Which department do you work in?
        choices: departments
        required: true
      - id: contacted
        type: single_choice
        text: Did a peer supporter contact you?
        choices: yes_no
  - id: views
    title: Your views
    questions:
      - id: helped
        type: text
        text: What helped you most?
      - id: change
        type: text
        text: What should change?
"""

ROSTER = "email,department\n" + "".join(f"doc{i}@hospital.example,{'em' if i % 2 else 'icu'}\n" for i in range(6))
ANSWERS = {
    "doc0@hospital.example": ("em", "yes", "Talking to someone who had been through the same night shift.",
                              "Reach out sooner after a bad outcome."),
    "doc1@hospital.example": ("icu", "no", "Knowing the program exists at all.",
                              "Send the reminder less formally, more time to talk."),
}


@dataclass
class Site:
    base: str
    app: Any
    smtp: SmtpServer
    folder: Path
    browsers: dict[str, Any] = field(default_factory=dict)

    def browser(self, who: str, width: int = 1280) -> Any:
        """Return *who*'s own Chromium (a profile of their own), started at *width* CSS pixels."""
        if who not in self.browsers:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service

            options = chrome_options(self.folder / who.replace("@", "_"))
            options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": 900,
                                                                                   "pixelRatio": 1}})
            options.add_experimental_option("prefs", {"download.default_directory": str(self.downloads(who)),
                                                      "download.prompt_for_download": False})
            driver = webdriver.Chrome(service=Service(DRIVER), options=options)
            driver.set_page_load_timeout(30)
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
            self.browsers[who] = driver
        return self.browsers[who]

    def downloads(self, who: str) -> Path:
        folder = self.folder / "downloads" / who.replace("@", "_")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def local(self, link: str) -> str:
        """Return an e-mailed link at the served address (a reverse proxy's job in production)."""
        assert link.startswith(PUBLIC), link
        return self.base + link[len(PUBLIC):]

    def mail_to(self, address: str, since: int = 0) -> list[Any]:
        return [m for m in self.smtp.handler.messages[since:] if str(m["To"]) == address]


@pytest.fixture
def site(tmp_path: Path, smtp: SmtpServer) -> Iterator[Site]:  # noqa: F811 (the fixture)
    instruments = tmp_path / "instruments"
    instruments.mkdir()  # empty: the instrument comes through the browser
    url = f"sqlite:///{tmp_path / 'workflow.sqlite3'}"
    mail = {k: str(v) for k, v in smtp.config().items()}
    app = make_test_app(url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(instruments), **smtp.config())
    # The one shell step: the first account (the README's `surveykit users create`).
    make_user(app.test_cli_runner(), LEAD, LEAD_PASSWORD)  # type: ignore[arg-type]
    env = {**os.environ, **mail, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "workflow-test",
           "SURVEYKIT_INSTRUMENTS_DIR": str(instruments), "SURVEYKIT_BASE_URL": PUBLIC}
    env.pop("SURVEYKIT_BROKER_URL", None)
    served = Site("", app, smtp, tmp_path)
    try:
        with gunicorn(env, tmp_path, "--workers", "2") as server:
            served.base = server.base
            yield served
    finally:
        for driver in served.browsers.values():
            driver.quit()
        app.extensions["surveykit.engine"].dispose()


def fits(driver: Any, what: str) -> None:
    """The page is no wider than its viewport, keeps the Content-Security-Policy and has no axe violation."""
    assert driver.execute_script(WIDE) == [], what
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), what
    assert driver.execute_script("return window.__csp") == [], what
    assert axe_violations(driver) == [], what


def press(driver: Any, css: str) -> None:
    from selenium.webdriver.common.by import By

    submit(driver, driver.find_element(By.CSS_SELECTOR, css))


def button(driver: Any, text: str) -> Any:
    """Return the button or link whose visible text starts with *text*."""
    from selenium.webdriver.common.by import By

    for element in driver.find_elements(By.CSS_SELECTOR, "main button, main a"):
        if element.text.strip().startswith(text):
            return element
    raise AssertionError(f"no button or link '{text}' on {driver.current_url}:\n{text_of(driver)}")


def text_of(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "main").text


def log_in(driver: Any, base: str, email: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/auth/login")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    press(driver, "main form button[type=submit]")
    assert "Log in" not in driver.title, text_of(driver)


def fill(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.NAME, name)
    element.clear()
    element.send_keys(value)


def choose(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.NAME, name)).select_by_value(value)


def answer_page(driver: Any, values: dict[str, str], action: str = "next") -> None:
    """Answer the respondent page in view (radio buttons by value, text boxes typed) and press Continue/Submit."""
    from selenium.webdriver.common.by import By

    for name, value in values.items():
        field_ = driver.find_elements(By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']")
        if field_:
            field_[0].click()
        else:
            box = driver.find_element(By.NAME, name)
            box.clear()
            box.send_keys(value)
    press(driver, f"button[name=action][value={action}]")


def heading(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "h1").text


def count(site: Site, model: Any, *where: Any) -> int:
    with site.app.app_context(), new_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def download(driver: Any, url: str) -> bytes:
    """Fetch *url* with the browser's own log-in cookie (what the browser's download would save)."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(url, headers={"Cookie": cookies})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return response.read()


def test_the_papers_workflow_runs_in_the_browser(site: Site) -> None:
    from selenium.webdriver.common.by import By

    base = site.base
    lead = site.browser(LEAD)
    log_in(lead, base, LEAD, LEAD_PASSWORD)

    # 1. Invite two colleagues; each sets a password through the e-mailed link, in a browser of their own.
    for email, (name, role, _password) in COLLEAGUES.items():
        lead.get(f"{base}/admin/users")
        fill(lead, "email", email)
        fill(lead, "name", name)
        choose(lead, "role", role)
        press(lead, "main form[action$='/invite'] button[type=submit]")
        assert email in text_of(lead)
    fits(lead, "accounts page")
    for email, (name, _role, password) in COLLEAGUES.items():
        [invitation] = site.mail_to(email)
        link = re.search(re.escape(PUBLIC) + r"/auth/set-password/\S+", body(invitation))
        assert link, body(invitation)
        colleague = site.browser(email)
        colleague.get(site.local(link.group(0)))
        for box in colleague.find_elements(By.CSS_SELECTOR, "input[type=password]"):
            box.send_keys(password)
        press(colleague, "main form button[type=submit]")
        assert "Log in" not in colleague.title and name in colleague.page_source, text_of(colleague)

    # 2. Upload the instrument with three errors: all three are listed at once; fix them; preview at 390 px; save.
    lead.get(f"{base}/admin/instruments/new")
    source = lead.find_element(By.ID, "source")
    lead.execute_script("arguments[0].value = arguments[1]", source, BROKEN)
    press(lead, "#editor-form button.primary")
    listed = [li.text for li in lead.find_elements(By.CSS_SELECTOR, "#errors ol.errors > li")]
    assert len(listed) == 3, listed
    assert any("departmnts" in e for e in listed) and any("yesno" in e for e in listed), listed
    assert any("contact" in e and "helped" in e for e in listed), listed
    assert all(re.match(r"\S+:\d+: ", e) for e in listed), listed  # file:line: what
    source = lead.find_element(By.ID, "source")
    lead.execute_script("arguments[0].value = arguments[1]", source, FIXED)
    lead.find_element(By.CSS_SELECTOR, "#editor-form button.secondary").click()  # preview into the frame
    frame = lead.find_element(By.CSS_SELECTOR, "iframe.phone")
    assert round(frame.rect["width"]) >= 390 - 4  # the phone frame (its border aside)
    lead.switch_to.frame(frame)
    wait_for(lead, "input[name=department]")
    assert lead.execute_script("return window.innerWidth") <= 390
    assert heading(lead) == "About you"
    lead.switch_to.default_content()
    press(lead, "#editor-form button.primary")
    assert "Saved 'peer-support' version 1" in lead.page_source

    # 3. Create an invitation survey with a reminder after 7 days.
    lead.get(f"{base}/admin/new")
    choose(lead, "instrument", "peer-support")
    fill(lead, "slug", "post-feedback")
    fill(lead, "title", "POST feedback 2026")
    choose(lead, "mode", "invitation")
    fill(lead, "reminder_days", "7")
    press(lead, "main form button.primary")
    assert heading(lead) == "POST feedback 2026", text_of(lead)
    survey_page = lead.current_url

    # 4. Test mode: two test answers, shown apart, deleted in one click; none in the rates.
    test_link = lead.find_element(By.ID, "test-link").get_attribute("href")
    for n in range(2):
        tester = site.browser(f"tester{n}", 390)
        tester.get(test_link)
        press(tester, "main form button.primary")  # start
        answer_page(tester, {"department": "em", "contacted": "yes"})
        answer_page(tester, {"helped": f"test answer {n}", "change": "nothing, a test"})
    lead.get(survey_page)
    assert "2 test answers (" in text_of(lead), text_of(lead)
    assert count(site, Response, Response.test.is_(True)) == 2 and count(site, Response) == 2
    rates = lead.find_element(By.CSS_SELECTOR, "table.rates tfoot").text
    assert rates.split()[:3] == ["All", "0", "0"], rates  # counted nowhere
    press(lead, "#delete-test-answers")
    assert "2 test answers deleted" in text_of(lead) and "0 test answers (" in text_of(lead), text_of(lead)
    assert count(site, Response) == 0

    # 5. Upload a roster and send the invitations.
    roster = site.folder / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    lead.find_element(By.NAME, "roster").send_keys(str(roster))
    press(lead, "form[action$='/roster'] button[type=submit]")
    assert "6 invitees added" in text_of(lead), text_of(lead)
    press(lead, "form[action$='/invite'] button[type=submit]")
    assert "6 invitations sent" in text_of(lead), text_of(lead)
    links = {}
    for email in ANSWERS:
        [message] = site.mail_to(email)
        assert message["Date"] and message["Message-ID"]
        found = re.search(re.escape(PUBLIC) + r"/i/\S+", body(message))
        assert found, body(message)
        links[email] = site.local(found.group(0).rstrip(".,"))

    # 6. Two invitees answer; the first starts on a phone and finishes on a second device with the same link.
    first, (dept, contacted, helped, change) = "doc0@hospital.example", ANSWERS["doc0@hospital.example"]
    phone_ = site.browser("doc0-phone", 390)
    phone_.get(links[first])
    press(phone_, "main form button.primary")
    answer_page(phone_, {"department": dept, "contacted": contacted})
    assert heading(phone_) == "Your views"
    other = site.browser("doc0-desktop", 1280)
    other.get(links[first])
    press(other, "main form button.primary")  # "Continue where you left off"
    assert heading(other) == "Your views", text_of(other)
    answer_page(other, {"helped": helped, "change": change})
    second, (dept, contacted, helped, change) = "doc1@hospital.example", ANSWERS["doc1@hospital.example"]
    device = site.browser("doc1-phone", 390)
    device.get(links[second])
    press(device, "main form button.primary")
    answer_page(device, {"department": dept, "contacted": contacted})
    answer_page(device, {"helped": helped, "change": change})
    assert count(site, Invitation, Invitation.answered.is_(True)) == 2

    # 7. Send the reminder now: its usual date and who gets it are shown, and it goes after confirming.
    lead.get(survey_page)
    before = len(site.smtp.handler.messages)
    submit(lead, button(lead, "Send the reminder now"))
    shown = text_of(lead)
    assert "4" in shown and "remind" in shown.lower(), shown
    fits(lead, "reminder confirmation")
    press(lead, "main form button.primary")
    reminded = sorted(str(m["To"]) for m in site.smtp.handler.messages[before:])
    assert reminded == sorted(e for e in (f"doc{i}@hospital.example" for i in range(6)) if e not in ANSWERS)

    # 8. Exact rates for the lead: 2 of 6 answered (33.3%), not "<5".
    lead.get(survey_page)
    rates = lead.find_element(By.CSS_SELECTOR, "table.rates tfoot").text
    assert rates.split() == ["All", "6", "2", "33.3", "%"], rates

    # 9. Close after confirming what will be erased.
    submit(lead, button(lead, "Close the survey"))
    assert "6" in text_of(lead) and "erase" in text_of(lead).lower(), text_of(lead)
    fits(lead, "close confirmation")
    press(lead, "main form button.primary")
    assert count(site, Invitation, Invitation.email.is_not(None)) == 0
    assert "closed" in text_of(lead)

    # 10. A coding project from the two open-ended questions; both colleagues code a round.
    lead.get(f"{base}/coding/new")
    fits(lead, "new coding project")
    _create_project(lead)
    # 11. The two colleagues code a round, then the lead downloads the theme workbook.
    _code_a_round(site)
    workbook = download(lead, f"{base}/coding/post-themes/themes.xlsx")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(workbook), read_only=True)
    cells = " ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    assert "Timely contact" in cells and "Being heard" in cells, cells[:2000]
    book.close()


def _create_project(lead: Any) -> None:
    """Step 1 names the project and picks the survey; step 2 picks its two open-ended questions."""
    from selenium.webdriver.common.by import By

    fill(lead, "name", "post-themes")
    lead.find_element(By.CSS_SELECTOR, "input[name=survey][value='post-feedback']").click()
    submit(lead, button(lead, "Next"))
    offered = [e.get_attribute("value") for e in lead.find_elements(By.CSS_SELECTOR, "input[name=question]")]
    assert sorted(offered) == ["change", "helped"], offered  # the single choices are not offered
    for box in lead.find_elements(By.CSS_SELECTOR, "input[name=question]"):
        if not box.is_selected():
            box.click()
    submit(lead, button(lead, "Create the project"))
    assert heading(lead) == "post-themes", text_of(lead)
    assert "4 units" in text_of(lead), text_of(lead)  # two answers to each of the two questions


def _code_a_round(site: Site) -> None:
    """The lead adds both colleagues as coders and two codes, starts a round; each codes every unit blind and
    finishes; the lead closes the round."""
    from selenium.webdriver.common.by import By

    base, lead = site.base, site.browser(LEAD)
    project = f"{base}/coding/post-themes/"
    for name, _role, _password in COLLEAGUES.values():
        lead.get(project)
        choose_label(lead, "user", name)
        choose(lead, "role", "coder")
        submit(lead, button(lead, "Add to the team"))
        assert name in text_of(lead)
    for code in ("Timely contact", "Being heard"):
        lead.get(f"{project}codebook")
        add = lead.find_element(By.CSS_SELECTOR, "form[action$='/codebook/add']")
        add.find_element(By.NAME, "name").send_keys(code)
        add.find_element(By.NAME, "definition").send_keys(f"{code}: as the answer says it")
        add.find_element(By.NAME, "why").send_keys("first codebook")
        press(lead, "form[action$='/codebook/add'] button[type=submit]")
        assert code in text_of(lead)
    _start_round(lead, project)
    fits(lead, "project page")
    for n, email in enumerate(COLLEAGUES):
        coder = site.browser(email)
        coder.get(project)
        submit(coder, button(coder, "Code this round"))
        coded = 0
        while coder.find_elements(By.ID, "coding-form"):
            text = coder.find_element(By.ID, "unit-text").text
            # The two coders disagree on one unit, as real coders do: Cleo hears "talk" as being heard too.
            codes = ["Timely contact"] if "sooner" in text or "night" in text else ["Being heard"]
            if n == 1 and "talk" in text.lower():
                codes.append("Being heard")
            for label in coder.find_elements(By.CSS_SELECTOR, "#coding-form .code-row label[for]"):
                if label.text in codes:
                    label.click()
            press(coder, "#coding-form button[value=next]")
            coded += 1
            if "No unit matches" in text_of(coder):
                break
        assert coded == 4, coded
        coder.get(project)
        submit(coder, button(coder, "I have finished this round"))
        assert "finished" in text_of(coder)
    lead.get(project)
    submit(lead, button(lead, "Close the round for everyone"))
    assert "closed" in text_of(lead)


def _start_round(lead: Any, project: str) -> None:
    """The answers the project was made from are its first round, open for coding."""
    lead.get(project)
    assert "(open)" in text_of(lead), text_of(lead)


def choose_label(driver: Any, name: str, label_start: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    select = Select(driver.find_element(By.NAME, name))
    for option in select.options:
        if option.text.startswith(label_start):
            select.select_by_visible_text(option.text)
            return
    raise AssertionError(f"no option '{label_start}' in {[o.text for o in select.options]}")
