"""The instrument pages in real Chromium under gunicorn: the editor, every error, the preview at phone width.

Skips with the reason when Chromium or its driver is not installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import LEAD, PASSWORD, make_user
from phone_browser import WATCH, WIDE, axe_violations, phone, submit, surveys_served, wait_for
from sqlalchemy import func, select
from test_instrument_pages import SKIPS, THREE_ERRORS

from surveyapp.db import new_session
from surveyapp.models import Base

from conftest import INSTRUMENTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)



@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, object]]:
    with surveys_served(tmp_path, INSTRUMENTS, []) as (base, app):
        make_user(app.test_cli_runner())  # type: ignore[attr-defined]
        yield base, app


def rows(app: object) -> dict[str, int]:
    with app.app_context(), new_session() as s:  # type: ignore[attr-defined]
        return {t.name: s.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


def log_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/auth/login?next=/admin/instruments/")
    driver.find_element(By.NAME, "email").send_keys(LEAD)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
    assert driver.title.startswith("Instruments"), driver.title


def fits(driver, width: int) -> None:
    assert driver.execute_script("return document.documentElement.clientWidth") == width
    assert driver.execute_script(WIDE) == []
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [390, 320, 1280])
def test_editor_errors_and_preview_fit_the_screen(served, tmp_path, width):
    from selenium.webdriver.common.by import By

    base, app = served
    driver = phone(tmp_path / f"w{width}", width=width)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    try:
        log_in(driver, base)
        fits(driver, width)
        assert axe_violations(driver) == []
        before = rows(app)

        driver.get(f"{base}/admin/instruments/new")
        source = driver.find_element(By.ID, "source")
        driver.execute_script("arguments[0].value = arguments[1]", source, THREE_ERRORS)
        submit(driver, driver.find_element(By.CSS_SELECTOR, "#editor-form button.primary"))
        listed = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#errors ol.errors > li")]
        assert len(listed) == 3, listed
        assert [e.split(":")[1] for e in listed] == ["8", "17", "23"]
        fits(driver, width)
        assert axe_violations(driver) == []

        source = driver.find_element(By.ID, "source")
        driver.execute_script("arguments[0].value = arguments[1]", source, SKIPS.format(version=1))
        driver.find_element(By.CSS_SELECTOR, "#editor-form button.secondary").click()  # into the frame
        frame = driver.find_element(By.CSS_SELECTOR, "iframe.phone")
        driver.switch_to.frame(frame)
        wait_for(driver, "input[name=aware]")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Awareness"
        inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert inner[0] <= inner[1], inner  # the respondent's page fits the preview's width
        assert axe_violations(driver) == []
        driver.find_element(By.CSS_SELECTOR, "input[name=aware][value=yes]").click()
        submit(driver, driver.find_element(By.CSS_SELECTOR, "button[value=next]"))
        assert driver.find_element(By.TAG_NAME, "h1").text == "What you know"
        driver.switch_to.default_content()
        box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", frame)
        assert 0 <= box[0] and box[1] <= width, box  # the preview fits on the page
        assert round(box[1] - box[0]) == min(390, round(box[1] - box[0]))
        if width == 1280:
            assert round(box[1] - box[0]) == 390  # a phone's width beside the editor
        fits(driver, width)
        assert driver.execute_script("return window.__csp") == []
        assert rows(app) == before  # nothing stored: no version, no draft, no response

        source = driver.find_element(By.ID, "source")
        driver.execute_script("arguments[0].value = arguments[1]", source, SKIPS.format(version=1))
        submit(driver, driver.find_element(By.CSS_SELECTOR, "#editor-form button.primary"))
        assert "Saved 'skips' version 1" in driver.page_source
        driver.get(f"{base}/admin/instruments/")
        assert "Skip logic" in driver.page_source
        fits(driver, width)
        assert axe_violations(driver) == []
    finally:
        driver.quit()

