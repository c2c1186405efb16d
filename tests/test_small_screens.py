"""Every investigators' page on a phone and a desktop: headless Chromium under gunicorn, logged in as an admin, on
a survey with the paper's answers and a coding project with two coders who finished a round.

Each GET page of the admin, accounts, instruments, studies, coding and results blueprints is opened at 320 and
1280 CSS pixels: the page is no wider than the window (wide tables scroll in their own labelled box), axe-core
finds nothing, and coders are named by their display names, never their addresses. Skips with the reason when
Chromium or its driver is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_replay import CHROMIUM, DRIVER
from paper_data import paper_forms
from phone_browser import WIDE, axe_violations
from servers import gunicorn
from sqlalchemy import select
from survey_setup import open_survey, store
from test_results_browser import driver_at

from coding import projects as P
from coding import rounds as R
from coding.codebook import stored as C
from coding.store import Unit
from surveyapp.auth.models import create_user
from surveyapp.db import new_session
from surveyapp.models import Survey
from surveyapp.results.links import create_link

from conftest import INSTRUMENTS, csrf_from, make_test_app

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

PASSWORD = "investigator passphrase"
ADMIN = "lead@example.org"
CODERS = {"ana.coder@example.org": "Ana Coder", "ben.coder@example.org": "Ben Coder"}
TEXTS = ["The peer supporter called me the day after the incident and it helped a lot.",
         "I had no time to take part; shifts are too long.",
         "Nobody reached out to me, but I knew the program existed.",
         "Talking to a colleague who understood the work made me feel less alone."]


def _code_round(app: Any) -> int:
    """Both coders code every unit of the first round and finish it; return a unit's id."""
    with app.app_context(), new_session() as s:
        project = P.create_project(s, "post", next(iter(CODERS)))
        P.add_units(s, project, [P.NewUnit(f"import:{i:05d}", t, label=f"u{i}") for i, t in enumerate(TEXTS)])
        for parent, name in [(None, "Effectiveness"), ("Effectiveness", "Perspective"), (None, "Barriers"),
                             ("Barriers", "Time")]:
            C.add_code(s, project, parent, name, next(iter(CODERS)))
        s.commit()
        ids = dict(C.load_tree(s, project.id).ids)
        units = list(s.scalars(select(Unit.id).order_by(Unit.position)))
    for n, email in enumerate(CODERS):
        client = app.test_client()
        page = client.get("/auth/login")
        client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": email, "password": PASSWORD})
        for i, unit in enumerate(units):
            code = ids["Barriers/Time"] if (i + n) % 2 else ids["Effectiveness/Perspective"]
            page = client.get("/coding/post/code?pos=0&filter=all")
            saved = client.post(f"/coding/post/code/{unit}", data={"csrf_token": csrf_from(page.text), "code": [code],
                                                                   "memo": f"memo {n}", "go": "stay"})
            assert saved.status_code == 302, saved.text
        overview = client.get("/coding/post/")
        finished = client.post("/coding/post/rounds/1/finish", data={"csrf_token": csrf_from(overview.text)})
        assert finished.status_code == 302
    with app.app_context(), new_session() as s:
        # Closed, so the admin (who did not code) sees the agreement too.
        R.close_round(s, R.rounds(s, P.get_project(s, "post"))[0])
        s.commit()
    return units[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """Serve the seeded site under gunicorn; yield the base URL and every page to visit."""
    folder = tmp_path_factory.mktemp("small")
    instruments = folder / "instruments"
    shutil.copytree(INSTRUMENTS, instruments)
    url = f"sqlite:///{folder / 'small.sqlite3'}"
    app = make_test_app(url, folder, SURVEYKIT_INSTRUMENTS_DIR=str(instruments))
    runner = app.test_cli_runner()
    open_survey(runner, "department-survey", "paper")
    store(app, "paper", paper_forms())
    with app.app_context(), new_session() as s:
        create_user(s, ADMIN, PASSWORD, "Lead Investigator")
        for email, name in CODERS.items():
            create_user(s, email, PASSWORD, name)
        token = create_link(s, s.get(Survey, "paper"))
        s.commit()
    study = runner.invoke(args=["studies", "create", "trial", "--linkage", "confidential"])
    wave = runner.invoke(args=["studies", "add-wave", "trial", "paper", "--label", "Baseline"])
    unit = _code_round(app)
    pages = ["/admin/", "/admin/new", "/admin/s/paper", "/admin/s/paper/mail/invitation",
             "/admin/s/paper/mail/reminder", "/admin/s/paper/mail/invitation/preview", "/admin/s/paper/results",
             "/admin/s/paper/close", "/admin/s/paper/remind-now",
             "/admin/users", "/admin/instruments/", "/admin/instruments/new",
             "/admin/instruments/department-survey", "/admin/instruments/department-survey/preview",
             "/admin/studies",
             "/coding/", "/coding/post/", "/coding/post/code", "/coding/post/codebook",
             "/coding/post/codebook/changes", "/coding/post/agreement", "/coding/post/reconcile",
             f"/coding/post/reconcile/{unit}", "/coding/post/results", "/coding/post/themes",
             "/coding/post/kwic?q=time", f"/results/{token}"]
    if study.exit_code == 0 and wave.exit_code == 0:
        pages.append("/admin/studies/trial")
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "browser-test",
           "SURVEYKIT_INSTRUMENTS_DIR": str(instruments)}
    try:
        with gunicorn(env, folder) as server:
            yield server.base, pages
    finally:
        app.extensions["surveykit.engine"].dispose()


def _axe(driver: Any) -> list[str]:
    """axe-core's violations on the page; a sandboxed frame (the e-mail preview, visited on its own) is skipped."""
    if driver.execute_script("return document.querySelector('iframe[sandbox]') !== null"):
        driver.execute_script("document.querySelectorAll('iframe[sandbox]').forEach(f => f.remove())")
    return axe_violations(driver)


def _log_in(driver: Any, base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/auth/login?next=/admin/")
    driver.find_element(By.NAME, "email").send_keys(ADMIN)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url == f"{base}/admin/")


@pytest.mark.parametrize("width", [320, 1280])
def test_every_investigators_page_fits_and_passes_axe(site, tmp_path: Path, width: int) -> None:
    base, pages = site
    driver = driver_at(tmp_path, width)
    problems: list[str] = []
    figures: list[str] = []
    try:
        _log_in(driver, base)
        for path in pages:
            # The e-mail preview's own policy is a sandbox without scripts, which would stop axe too: for that one
            # document the check runs with the policy bypassed (its markup and inline styles are what is checked).
            driver.execute_cdp_cmd("Page.setBypassCSP", {"enabled": path.endswith("/preview")
                                                         and "/mail/" in path})
            driver.get(base + path)
            if driver.current_url != base + path:
                problems.append(f"{path} at {width}: went to {driver.current_url}")
            status = driver.execute_script("return document.title")
            # A phone widens its layout viewport (innerWidth) to fit a page that overflows: compare with the screen.
            scroll, inner = driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            wide = driver.execute_script(WIDE)
            violations = _axe(driver)
            blocked = driver.execute_script("return window.__csp || []")
            figures.append(f"{path}: scrollWidth {scroll}/{inner}, axe {len(violations)}")
            if os.environ.get("SURVEYKIT_SCREENSHOTS"):
                driver.save_screenshot(str(Path(os.environ["SURVEYKIT_SCREENSHOTS"]) /
                                           f"{width}-{path.strip('/').replace('/', '_')[:60] or 'admin'}.png"))
            if scroll > width or inner > width or wide:
                problems.append(f"{path} at {width}: scrollWidth {scroll}, innerWidth {inner}: {wide[:5]}")
            if violations:
                problems.append(f"{path} at {width}: axe {violations}")
            if blocked:
                problems.append(f"{path} at {width}: CSP refused {blocked}")
            if "Error" in status or "Not Found" in status:
                problems.append(f"{path} at {width}: {status}")
            headers = driver.execute_script("return [...document.querySelectorAll('th')].map(t => t.textContent)")
            for email in CODERS:
                if any(email in h for h in headers):
                    problems.append(f"{path} at {width}: a table header shows the address {email}")
    finally:
        driver.quit()
    print(f"\n{width} px, {len(pages)} pages:\n  " + "\n  ".join(figures))
    assert problems == [], "\n".join(problems)


def test_the_agreement_names_coders_by_display_name(site, tmp_path: Path) -> None:
    base, _pages = site
    driver = driver_at(tmp_path, 1280)
    try:
        _log_in(driver, base)
        driver.get(base + "/coding/post/agreement")
        headers = driver.execute_script("return [...document.querySelectorAll('th')].map(t => t.textContent)")
        assert any("Ana Coder" in h for h in headers) and any("Ben Coder" in h for h in headers), headers
    finally:
        driver.quit()
