"""The survey lifecycle's pages in headless Chromium under gunicorn, at 320 and 1280 px: the survey page with its
test link and test answers, the close and remind-now confirm pages, a respondent's page under the test banner.
Each has 0 axe-core violations, no element wider than the screen, and nothing refused by the Content-Security-Policy.

Skips with the reason when Chromium or its driver is not installed (as tests/test_results_browser.py does).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from phone_browser import WIDE, axe_violations
from servers import gunicorn
from survey_setup import open_survey
from test_results_browser import CHROMIUM, DRIVER, driver_at

from surveyapp.auth.members import SurveyMember
from surveyapp.auth.models import create_user
from surveyapp.db import new_session
from surveyapp.models import Invitation, Response, Survey

from conftest import INSTRUMENTS, make_test_app

PASSWORD = "investigator passphrase"
SLUG = "lifecycle"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """Serve an invitation-mode survey with two batches of invitees (one due) and three test answers."""
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    url = f"sqlite:///{tmp_path / 'lifecycle.sqlite3'}"
    app = make_test_app(url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    open_survey(app.test_cli_runner(), "department-survey", SLUG, "--mode", "invitation", "--reminder-days", "7")
    today = dt.date.today()
    with app.app_context(), new_session() as s:
        user = create_user(s, "lead@example.org", PASSWORD, "Lead", role="investigator")
        s.add(SurveyMember(user_id=user.id, survey_slug=SLUG, role="owner"))
        for i in range(9):
            s.add(Invitation(survey_slug=SLUG, email=f"p{i}@hospital.example", department="Emergency Medicine",
                             invited_on=today - dt.timedelta(days=10 if i < 4 else 2)))
        version = s.get(Survey, SLUG).instrument_version
        for _ in range(3):
            s.add(Response(survey_slug=SLUG, instrument_id=version.instrument_id, test=True,
                           instrument_version=version.version, instrument_sha256=version.sha256,
                           submitted_on=today, answers={"department": "em", "aware": "no"}))
        s.commit()
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "browser-test",
           "SURVEYKIT_INSTRUMENTS_DIR": str(folder)}
    try:
        with gunicorn(env, tmp_path) as server:
            yield server.base
    finally:
        app.extensions["surveykit.engine"].dispose()


def check(driver, width: int, what: str) -> None:
    assert driver.execute_script("return document.documentElement.clientWidth") == width
    assert driver.execute_script(WIDE) == [], what
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width, what
    assert driver.execute_script("return window.__csp") == [], what
    assert axe_violations(driver) == [], what


@pytest.mark.parametrize("width", [320, 1280])
def test_lifecycle_pages_fit_and_pass_axe(served, tmp_path, width):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base = served
    driver = driver_at(tmp_path, width)
    try:
        driver.get(f"{base}/auth/login?next=/admin/s/{SLUG}")
        driver.find_element(By.NAME, "email").send_keys("lead@example.org")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "make-test-link"))
        driver.find_element(By.ID, "make-test-link").click()
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "test-link"))
        page = driver.page_source
        assert "3 test answers" in page and "Delete 3 test answers" in page
        assert "Sent now, it would reach 9 invitees." in page
        check(driver, width, "survey page")
        link = driver.find_element(By.ID, "test-link").get_attribute("href")
        for path, heading in ((f"/admin/s/{SLUG}/close", "Close"), (f"/admin/s/{SLUG}/remind-now", "Send the")):
            driver.get(base + path)
            assert driver.find_element(By.TAG_NAME, "h1").text.startswith(heading)
            check(driver, width, path)
        driver.get(link)  # a respondent's page under the test banner
        assert "Test mode — this answer will be marked as a test" in driver.page_source
        check(driver, width, "intro in test mode")
        driver.save_screenshot(str(tmp_path / f"lifecycle-{width}.png"))
    finally:
        driver.quit()
