"""Results pages in headless Chromium under gunicorn: they fit 320 px, scroll boxes are reachable, nothing breaks
the Content-Security-Policy, and printing leaves the navigation and forms out.

Skips with the reason when Chromium or its driver is not installed (as tests/test_browser.py does).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_replay import chrome_options
from paper_data import paper_forms
from phone_browser import WATCH, WIDE, axe_violations
from servers import gunicorn
from survey_setup import open_survey, store

from surveyapp.auth.models import create_user
from surveyapp.db import new_session
from surveyapp.models import Survey
from surveyapp.results.links import create_link

from conftest import INSTRUMENTS, make_test_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PASSWORD = "investigator passphrase"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

# Recorded from the first script of every page: what the Content-Security-Policy refused.



@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Serve the paper's survey under gunicorn; yield the base URL and a working share link's path."""
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    url = f"sqlite:///{tmp_path / 'results.sqlite3'}"
    app = make_test_app(url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    open_survey(app.test_cli_runner(), "department-survey", "paper")
    store(app, "paper", paper_forms())
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", PASSWORD, "Lead")
        token = create_link(s, s.get(Survey, "paper"))
        s.commit()
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "browser-test",
           "SURVEYKIT_INSTRUMENTS_DIR": str(folder)}
    try:
        with gunicorn(env, tmp_path) as server:
            yield server.base, f"/results/{token}"
    finally:
        app.extensions["surveykit.engine"].dispose()


def driver_at(tmp_path: Path, width: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = chrome_options(tmp_path / f"w{width}")
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": 900,
                                                                           "pixelRatio": 1}})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    return driver


def log_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/auth/login?next=/admin/s/paper/results")
    driver.find_element(By.NAME, "email").send_keys("lead@example.org")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: d.title.startswith("Results:"))


@pytest.mark.parametrize("width", [320, 1280])
def test_results_pages_fit_the_screen_and_keep_the_policy(served, tmp_path, width):
    base, link = served
    driver = driver_at(tmp_path, width)
    try:
        for path in (link, "/admin/s/paper/results"):
            if path.startswith("/admin"):
                log_in(driver, base)
            else:
                driver.get(base + path)
            assert driver.execute_script("return document.title").startswith("Results:"), driver.page_source[:500]
            assert driver.execute_script("return document.documentElement.clientWidth") == width
            assert driver.execute_script(WIDE) == [], path
            # Every chart is drawn (it has a size) and every scroll box can be reached and is named.
            sizes = driver.execute_script("return [...document.querySelectorAll('svg.chart')].map(s => "
                                          "s.getBoundingClientRect().width)")
            assert sizes and all(0 < w <= width for w in sizes)
            boxes = driver.execute_script("return [...document.querySelectorAll('.scroll')].map(b => "
                                          "[b.tabIndex, b.getAttribute('role'), "
                                          "document.getElementById(b.getAttribute('aria-labelledby'))?.textContent])")
            assert boxes and all(t == 0 and r == "region" and name for t, r, name in boxes)
            assert driver.execute_script("return window.__csp") == []
            assert axe_violations(driver) == [], path  # an empty corner cell is a <td>, not a nameless <th>
            driver.save_screenshot(str(tmp_path / f"results-{width}-{path.split('/')[1]}.png"))
    finally:
        driver.quit()


def test_printing_leaves_out_navigation_and_forms(served, tmp_path):
    base, _link = served
    driver = driver_at(tmp_path, 1280)
    try:
        log_in(driver, base)
        shown = ("return ['header.top', 'section.noprint form', '.chart-block', 'table'].map(s => "
                 "getComputedStyle(document.querySelector(s)).display)")
        assert driver.execute_script(shown) == ["flex", "block", "block", "table"]
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert driver.execute_script(shown) == ["none", "none", "block", "table"]
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
        assert len(pdf["data"]) > 1000
    finally:
        driver.quit()
