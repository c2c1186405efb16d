"""One broken instrument file never stops the others: check, list, create and the new-survey page go on.

The broken files are the crashes the hardening pass found (a YAML tag on a bad value, nesting 200 deep, a
4,301-digit number), which used to escape the loader as ValueError/RecursionError and abort the whole folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from surveyapp.auth.models import create_user
from surveyapp.db import new_session
from surveyapp.models import Survey

from conftest import INSTRUMENTS, csrf_from, make_test_app

BROKEN = {
    "tagged.yaml": "id: tagged\nversion: !!int abc\ntitle: T\n",
    "deep.yaml": "id: deep\nversion: 1\ntitle: " + "[" * 200 + "]" * 200 + "\n",
    "digits.yaml": "id: digits\nversion: " + "9" * 4301 + "\ntitle: T\n",
}
GOOD = ("department-survey", "nomination")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "instruments"
    path.mkdir()
    for name in GOOD:
        shutil.copy(INSTRUMENTS / f"{name}.yaml", path)
    for name, text in BROKEN.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def app(database_url: str, tmp_path: Path, folder: Path):
    application = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    yield application
    application.extensions["surveykit.engine"].dispose()


def test_check_reports_each_broken_file_and_checks_the_rest(app: Flask, folder: Path):
    result = app.test_cli_runner().invoke(args=["instruments", "check", str(folder)])
    assert result.exit_code == 1
    for name in GOOD:
        assert f"ok: {name} v" in result.output
    for name in BROKEN:
        assert f"error: {folder / name}:" in result.output or f"{name}:" in result.output
    assert "nested more than 64 levels deep" in result.output
    assert "a number of more than 100 characters" in result.output
    assert "tags such as 'tag:yaml.org,2002:int' are not allowed" in result.output
    assert f"3 of {len(GOOD) + 3} instrument file(s) have errors" in result.output
    assert "Traceback" not in result.output


def test_list_names_the_good_and_the_broken(app: Flask):
    result = app.test_cli_runner().invoke(args=["instruments", "list"])
    assert result.exit_code == 0, result.output
    for name in GOOD:
        assert f"\n{name}" in f"\n{result.output}"
    for name in BROKEN:
        assert f"{Path(name).stem:24} BROKEN" in result.output


def test_create_serves_a_good_instrument_beside_broken_files(app: Flask):
    result = app.test_cli_runner().invoke(args=["surveys", "create", "nomination", "--id", "nom"])
    assert result.exit_code == 0, result.output
    with app.app_context(), new_session() as s:
        assert s.get(Survey, "nom") is not None
    named = app.test_cli_runner().invoke(args=["surveys", "create", "tagged", "--id", "tag"])
    assert named.exit_code == 1 and "tagged.yaml:2:" in named.output and "Traceback" not in named.output


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    with app.app_context(), new_session() as s:
        create_user(s, "lead@example.org", "investigator passphrase", "Lead")
        s.commit()
    client = app.test_client()
    page = client.get("/auth/login")
    client.post("/auth/login", data={"csrf_token": csrf_from(page.text), "email": "lead@example.org",
                                     "password": "investigator passphrase"})
    return client


def test_new_survey_page_lists_the_good_and_names_the_broken(admin: FlaskClient):
    page = admin.get("/admin/new")
    assert page.status_code == 200
    assert 'value="department-survey"' in page.text and 'value="nomination"' in page.text
    assert "3 instrument file(s) in the instruments folder cannot be used" in page.text
    for name in BROKEN:
        assert f"<strong>{name}</strong>" in page.text
    response = admin.post("/admin/new", data={"csrf_token": csrf_from(page.text), "instrument": "nomination",
                                              "slug": "nom", "title": "", "mode": "open", "reminder_days": "7"})
    assert response.status_code == 302, response.text


def test_demo_opens_the_good_and_skips_the_broken(app: Flask):
    result = app.test_cli_runner().invoke(args=["surveys", "demo"])
    assert result.exit_code == 0, result.output
    for name in GOOD:
        assert f"opened /s/{name}" in result.output
    assert result.output.count("skipped: ") == len(BROKEN)
