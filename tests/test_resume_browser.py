"""One invitation link on two phones: two Chromium profiles (no shared cookies) at 390 px against gunicorn.

The second phone opens the same link, is offered "Continue where you left off", lands on the page the first
phone reached, sees the first phone's answer, and sends the survey; the first phone's next send lands on
"already answered". Skips with the reason when Chromium or its driver is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from invite_scenario import create_survey, invite, write_roster
from page_replay import CHROMIUM, DRIVER
from phone_browser import axe_violations, overflow, phone, submit, wait_for
from servers import gunicorn
from smtp_server import link_in, smtp  # noqa: F401  (fixture)

from conftest import INSTRUMENTS, make_test_app

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

SLUG = "dept-2023"


def test_the_same_link_on_two_phones_continues_the_same_sheet(tmp_path: Path, smtp) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    url = f"sqlite:///{tmp_path / 'phones.sqlite3'}"
    app = make_test_app(url, tmp_path, **smtp.config())
    create_survey(app)
    assert invite(app, write_roster(tmp_path, "email,department\nowner@hospital.example,EM\n")).exit_code == 0
    link_path = "/" + link_in(smtp.handler.messages[0]).split("://", 1)[1].split("/", 1)[1]
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": url, "SURVEYKIT_SECRET_KEY": "browser-test",
           "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS)}
    first_profile, second_profile = tmp_path / "phone-1", tmp_path / "phone-2"
    first_profile.mkdir()
    second_profile.mkdir()
    one = two = None
    try:
        with gunicorn(env, tmp_path) as server:
            one, two = phone(first_profile), phone(second_profile)
            one.get(server.base + link_path)
            assert one.current_url.endswith(f"/s/{SLUG}")
            submit(one, one.find_element(By.CSS_SELECTOR, "form button.primary"))
            assert one.current_url.endswith("/p/about_you")
            one.find_element(By.ID, "department-icu").click()
            submit(one, one.find_element(By.CSS_SELECTOR, "button[value=next]"))
            assert one.current_url.endswith("/p/awareness")

            two.get(server.base + link_path)
            start = two.find_element(By.CSS_SELECTOR, "form button.primary")
            assert start.text == "Continue where you left off"
            submit(two, start)
            assert two.current_url.endswith("/p/awareness"), two.current_url
            width, viewport = overflow(two)
            violations = axe_violations(two)
            print(f"second phone resumed at /p/awareness: scrollWidth {width} of {viewport} px, "
                  f"axe violations {len(violations)}")
            assert width <= viewport == 390 and violations == []
            submit(two, two.find_element(By.CSS_SELECTOR, "button[value=back]"))
            assert two.find_element(By.ID, "department-icu").is_selected()
            submit(two, two.find_element(By.CSS_SELECTOR, "button[value=next]"))
            two.find_element(By.ID, "aware-no").click()
            submit(two, two.find_element(By.CSS_SELECTOR, "button[value=next]"))
            assert "Thank you" in wait_for(two, "h1").text + two.page_source

            one.find_element(By.ID, "aware-yes").click()
            submit(one, one.find_element(By.CSS_SELECTOR, "button[value=next]"))
            assert "already been used" in one.page_source
            assert overflow(one)[0] <= 390
    finally:
        for driver in (one, two):
            if driver is not None:
                driver.quit()
        app.extensions["surveykit.engine"].dispose()
