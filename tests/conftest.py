"""Fixtures: a throwaway database per test (SQLite always; PostgreSQL when SURVEYKIT_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from migrated import migrate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from surveyapp import create_app, shutdown

ROOT = Path(__file__).resolve().parent.parent
INSTRUMENTS = ROOT / "instruments"
# The REFI-QDA codebook schema (QDA-XML 1.0, MIT, licence in its header): .qdc files must validate against it.
CODEBOOK_XSD = ROOT / "tests" / "data" / "refi-qda" / "Codebook.xsd"
POSTGRES_URL = os.environ.get("SURVEYKIT_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need SURVEYKIT_TEST_POSTGRES_URL (.ci/run sets it when a server answers)")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_test_app(database_url: str, tmp_path: Path, **extra: Any) -> Flask:
    """Build an app on *database_url* with migrations applied (a copy of the migrated template when it is new)."""
    migrate(database_url)
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SURVEYKIT_DATABASE_URL": database_url,
        "SURVEYKIT_SECRET_KEY": "test-secret",
        "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS),
        **extra,
    }
    return create_app(config)


def make_instruments_app(database_url: str, tmp_path: Path, files: dict[str, str], **extra: Any) -> Flask:
    """Build a test app whose instruments folder holds just *files* (name -> YAML text)."""
    folder = tmp_path / "instruments"
    folder.mkdir(exist_ok=True)
    for name, yaml_text in files.items():
        (folder / name).write_text(yaml_text, encoding="utf-8")
    return make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder), **extra)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = make_test_app(database_url, tmp_path)
    yield application
    # Background threads first (the assistant, the job thread): a connection they still hold would outlive
    # the engine's dispose and be closed by the garbage collector, in whatever test runs then.
    shutdown(application)
    application.extensions["surveykit.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form in *html*."""
    found = CSRF_RE.search(html)
    assert found, "page has no form with a CSRF token"
    return found.group(1)


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return f"PostgreSQL: tests also run on {make_url(POSTGRES_URL).render_as_string(hide_password=True)}"
    return "PostgreSQL: SURVEYKIT_TEST_POSTGRES_URL not set, so the PostgreSQL variants skip"
