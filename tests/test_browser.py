"""Respondent pages in a real browser (Debian's Chromium, headless) against the app under gunicorn.

Skips with the reason when Chromium or its driver is not installed (.ci/run installs them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from phone_browser import phone, submit, surveys_served, wait_for
from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.models import Response

from conftest import INSTRUMENTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

SAME_PAGE = """\
id: same-page
version: 1
title: Same-page conditions
sections:
  - id: only
    questions:
      - id: used
        type: single_choice
        text: Did you use the service?
        choices: yes_no
        required: true
      - id: rating
        type: likert
        scale: quality
        text: How was it?
        required: true
        show_if: {question: used, equals: "yes"}
      - id: comment
        type: text
        text: Any comment?
"""

THREE_PAGES = """\
id: three-pages
version: 1
title: Three pages of text
sections:
  - id: p1
    questions:
      - {id: first, type: text, text: First answer}
  - id: p2
    questions:
      - {id: second, type: text, text: Second answer, required: true}
      - {id: note, type: text, text: A note}
  - id: p3
    questions:
      - {id: third, type: text, text: Third answer}
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """Serve a fresh SQLite database under gunicorn on loopback; yield the base URL and the app."""
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    (folder / "same-page.yaml").write_text(SAME_PAGE)
    (folder / "three-pages.yaml").write_text(THREE_PAGES)
    with surveys_served(tmp_path, folder, [(i, i) for i in ("same-page", "department-survey", "three-pages")]) as site:
        yield site


@pytest.fixture
def browser(tmp_path: Path):
    driver = phone(tmp_path)
    yield driver
    driver.quit()


def _stored(app) -> list[Response]:
    with app.app_context(), new_session() as session:
        return list(session.scalars(select(Response)).all())


def test_same_page_condition_shows_and_hides_at_once(served, browser):
    from selenium.webdriver.common.by import By

    base, app = served
    browser.get(f"{base}/s/same-page")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button.primary"))
    rating = browser.find_element(By.ID, "q-rating")
    assert not rating.is_displayed()  # hidden until "Yes"
    assert not browser.find_element(By.CSS_SELECTOR, ".only-if").is_displayed()
    browser.find_element(By.CSS_SELECTOR, "label[for], label.option input[value=yes]").click()
    assert rating.is_displayed()
    browser.find_element(By.CSS_SELECTOR, "input[name=used][value=no]").click()
    assert not rating.is_displayed()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=next]"))
    assert "Thank you" in browser.page_source
    [response] = _stored(app)
    assert response.answers == {"used": "no", "comment": None}


def test_keyboard_only_with_error_summary(served, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    base, app = served
    browser.get(f"{base}/s/same-page")
    browser.find_element(By.CSS_SELECTOR, "button.primary").send_keys(Keys.ENTER)
    # Submit empty: the error summary gets focus and links to the question.
    wait_for(browser, "button[value=next]").send_keys(Keys.ENTER)
    summary = wait_for(browser, "#error-summary")
    assert browser.switch_to.active_element == summary
    link = summary.find_element(By.CSS_SELECTOR, "a")
    assert link.get_attribute("href").endswith("#used-yes")  # the first radio button, which takes focus
    assert link.text == "This question needs an answer."
    # Tab from the summary past its link into the first radio group and pick "Yes" with the space bar.
    ActionChains(browser).send_keys(Keys.TAB, Keys.TAB, Keys.SPACE).perform()
    assert browser.find_element(By.CSS_SELECTOR, "input[name=used][value=yes]").is_selected()
    assert browser.find_element(By.ID, "q-rating").is_displayed()
    ActionChains(browser).send_keys(Keys.TAB, Keys.SPACE).perform()  # into the rating group: its first option
    rating = browser.find_element(By.CSS_SELECTOR, "input[name=rating]:checked").get_attribute("value")
    browser.find_element(By.CSS_SELECTOR, "button[value=next]").send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/thanks"))
    assert "Thank you" in browser.page_source
    [response] = _stored(app)
    assert response.answers["rating"] == int(rating)


def test_department_survey_on_a_phone_screen(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    base, app = served
    browser.get(f"{base}/s/department-survey")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button.primary"))
    browser.find_element(By.CSS_SELECTOR, "input[name=department][value=em]").click()
    browser.save_screenshot(str(tmp_path / "phone.png"))
    wide = browser.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth).map(e => e.tagName + '.' + e.className + ' ' + "
        "Math.round(e.getBoundingClientRect().right))")
    # Nothing sticks out sideways on a 390 px phone.
    assert browser.execute_script("return document.documentElement.clientWidth") == 390
    assert wide == []
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=next]"))
    assert "Page 2 of 6" in browser.page_source  # the pages still possible; fewer once "aware" is answered


def test_enter_in_a_field_goes_forward(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    base, _app = served
    browser.get(f"{base}/s/three-pages")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button.primary"))
    wait_for(browser, "input[name=first]").send_keys("one", Keys.ENTER)
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/p/p2"))
    # Back is in the form but comes after the forward button: Enter in a field goes forward, not back.
    field = wait_for(browser, "input[name=note]")
    assert browser.find_element(By.CSS_SELECTOR, "button[value=next]").text == "Continue"
    field.send_keys(Keys.ENTER)  # "second" is required: the page comes back with the error, still page 2
    wait_for(browser, "#error-summary")
    assert browser.current_url.endswith("/p/p2")
    browser.find_element(By.CSS_SELECTOR, "input[name=second]").send_keys("two", Keys.ENTER)
    WebDriverWait(browser, 10).until(expected_conditions.url_contains("/p/p3"))
    assert wait_for(browser, "button[value=next]").text == "Submit my answers"
    # Back still goes back, and sits visually to the left of the forward button.
    back = browser.find_element(By.CSS_SELECTOR, "button[value=back]")
    forward = browser.find_element(By.CSS_SELECTOR, "button[value=next]")
    assert back.rect["x"] < forward.rect["x"]


def test_button_word_follows_the_answer_live(served, browser):
    from selenium.webdriver.common.by import By

    base, _app = served
    browser.get(f"{base}/s/department-survey")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button.primary"))
    browser.find_element(By.CSS_SELECTOR, "input[name=department][value=em]").click()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[value=next]"))
    button = browser.find_element(By.CSS_SELECTOR, "button[value=next]")
    assert button.text == "Continue"
    browser.find_element(By.CSS_SELECTOR, "input[name=aware][value=no]").click()
    assert button.text == "Submit my answers"
    browser.find_element(By.CSS_SELECTOR, "input[name=aware][value=yes]").click()
    assert button.text == "Continue"
