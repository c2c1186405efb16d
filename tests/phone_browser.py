"""A respondent's phone in headless Chromium: a narrow viewport, JavaScript on or off, page waits, axe-core.

axe-core comes from the npm registry, pinned in tests/axe/package-lock.json (`make install-test` runs `npm ci`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from page_replay import DRIVER, chrome_options
from servers import gunicorn

from conftest import make_test_app

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
NO_AXE = f"axe-core is missing at {AXE}: run `make install-test` (or `npm ci --prefix tests/axe`)"
# The rules axe runs: WCAG 2.0, 2.1 and 2.2 A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Run before each page's own scripts (Page.addScriptToEvaluateOnNewDocument): collects CSP violations.
WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
         "e => window.__csp.push(e.violatedDirective + ' ' + (e.sample || e.blockedURI)));")
# Elements reaching past the viewport's right edge, outside a scroll box (class "scroll") of their own.
WIDE = ("return [...document.querySelectorAll('body *')].filter(e => !e.parentElement?.closest('.scroll') && "
        "e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)"
        ".map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")


@contextmanager
def surveys_served(folder: Path, instruments: Path, surveys: Iterable[tuple[str, str]]) -> Iterator[tuple[str, Flask]]:
    """Open *surveys* (instrument id, survey id) on a fresh SQLite database in *folder*, serve it under gunicorn on
    loopback, and yield the base URL and the app."""
    url = f"sqlite:///{folder / 'browser.sqlite3'}"
    app = make_test_app(url, folder, SURVEYKIT_INSTRUMENTS_DIR=str(instruments))
    runner = app.test_cli_runner()
    for instrument, slug in surveys:
        result = runner.invoke(args=["surveys", "create", instrument, "--id", slug])
        assert result.exit_code == 0, result.output
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "browser-test",
           "SURVEYKIT_INSTRUMENTS_DIR": str(instruments)}
    try:
        with gunicorn(env, folder) as server:
            yield server.base, app
    finally:
        app.extensions["surveykit.engine"].dispose()
    # The server's own output must not carry respondents' addresses or paths.
    assert "127.0.0.1 -" not in server.output and "/s/" not in server.output, server.output


def phone(folder: Path, width: int = 390, height: int = 844, javascript: bool = True, language: str = "en") -> Any:
    """Start headless Chromium with a phone's viewport of *width* CSS pixels, JavaScript on or off, that prefers
    *language* (its Accept-Language)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = chrome_options(folder)
    # Headless windows cannot be narrower than 500 px; device emulation can.
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                           "pixelRatio": 2}})
    options.add_argument(f"--lang={language}")
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(20)
    if not javascript:
        scripts(driver, False)
    return driver


def scripts(driver: Any, run: bool) -> None:
    """Let the pages loaded from now on run their scripts, or not.

    JavaScript off is DevTools' switch rather than the profile setting
    (``profile.managed_default_content_settings.javascript``): under that setting no timer fires, even for
    WebDriver's scripts, so axe-core never finishes. A page parsed with the switch off never runs its scripts,
    even once the switch is back on for axe.
    """
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": not run})


def wait_for(browser: Any, css: str) -> Any:
    """Wait until an element matching *css* is on the page (keyboard submits do not block on navigation)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 10).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def replaced_after(browser: Any, act: Any) -> None:
    """Call *act* (a click, a key press) and wait until the next page has replaced this one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")

    def replaced(_driver: Any) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            # Asked while the old document is being torn down, chromedriver answers with this instead of "stale".
            if "does not belong to the document" in str(error.msg):
                return True
            raise
        return False

    act()
    WebDriverWait(browser, 10).until(replaced)
    wait_for(browser, "body")


def submit(browser: Any, button: Any) -> None:
    """Press *button* and wait until the next page has replaced this one."""
    replaced_after(browser, button.click)


def axe_violations(browser: Any, javascript: bool = True) -> list[str]:
    """Run axe-core on the page as it is now; return one line per violation (rule, impact, the nodes' targets).

    With *javascript* off (the browser from ``phone(javascript=False)``), scripts run for axe alone.
    """
    if not AXE.exists():
        raise AssertionError(NO_AXE)
    if not javascript:
        scripts(browser, True)
        try:
            return axe_violations(browser)
        finally:
            scripts(browser, False)
    if not browser.execute_script("return typeof window.axe === 'object'"):
        browser.execute_script(AXE.read_text(encoding="utf-8"))
    browser.set_script_timeout(30)
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify([{id: 'axe-error', "
        "impact: String(e), nodes: []}])));", AXE_TAGS)
    return [f"{v['id']} ({v['impact']}): {[n.get('target') for n in v['nodes']]}" for v in json.loads(result)]


def overflow(browser: Any) -> tuple[int, int]:
    """Return the page's scroll width and the viewport's width, in CSS pixels."""
    width, viewport = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(viewport)
