"""Migrations: one head; `surveykit db upgrade` brings an empty database to the models; the tests' shortcut
(tests/migrated.py) gives the same database as Alembic."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from migrated import migrate, sqlite_template
from sqlalchemy import create_engine

from surveyapp import create_app
from surveyapp import db as database

from conftest import INSTRUMENTS


def head() -> str:
    (only,) = ScriptDirectory.from_config(database.alembic_config("sqlite://")).get_heads()
    return only


def current(url: str) -> tuple[str, ...]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def test_migrations_have_one_head() -> None:
    heads = ScriptDirectory.from_config(database.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations have {len(heads)} heads {heads}: add a merge revision"


def test_db_upgrade_runs_alembic_to_the_head_and_matches_the_models(database_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SURVEYKIT_DATABASE_URL": database_url, "SURVEYKIT_SECRET_KEY": "test-secret",
                      "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS)})
    try:
        for _ in range(2):  # safe to run again
            result = app.test_cli_runner().invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output
            assert "database is up to date" in result.output
    finally:
        app.extensions["surveykit.engine"].dispose()
    assert current(database_url) == (head(),)
    command.check(database.alembic_config(database_url))  # raises when the models and the tables differ


def test_a_database_at_both_former_heads_upgrades_to_the_merge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two-heads.sqlite3'}"
    config = database.alembic_config(url)
    command.upgrade(config, "0002_invitations")
    command.upgrade(config, "0004_assist")
    assert sorted(current(url)) == ["0002_invitations", "0004_assist"]
    database.upgrade(url)
    assert current(url) == (head(),)  # through the merge (0005_merge) to the one head


def test_the_template_shortcut_gives_what_alembic_gives(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if database_url.startswith("sqlite"):
        sqlite_template()  # made by Alembic once, before Alembic is barred below

    def no_alembic(url: str) -> None:
        raise AssertionError(f"Alembic ran on {url}: the template should have been used")

    monkeypatch.setattr(database, "upgrade", no_alembic)
    migrate(database_url)
    assert current(database_url) == (head(),)
    command.check(database.alembic_config(database_url))


def test_a_database_with_tables_goes_through_alembic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(database.alembic_config(url), "0001")
    ran: list[str] = []
    monkeypatch.setattr(database, "upgrade", ran.append)
    migrate(url)
    assert ran == [url]
