"""Every command on a database that `surveykit db upgrade` has not set up yet: say what to run, no traceback.

Commands that only read files (`instruments check`/`list`, `coding agreement FILE`, `coding codebook convert`)
work there and leave the database untouched: no tables on PostgreSQL, no file at all on SQLite.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from surveyapp import create_app

from conftest import INSTRUMENTS

DATA = Path(__file__).parent / "data" / "coding"

# (arguments, input): one call of every command that reads or writes the database.
DATABASE_COMMANDS = [
    (["surveys", "create", "department-survey", "--id", "dept"], None),
    (["surveys", "list"], None),
    (["instruments", "list"], None),  # it lists the instruments saved in the browser too
    (["surveys", "close", "dept"], None),
    (["surveys", "demo"], None),
    (["surveys", "invite", "dept"], None),
    (["surveys", "remind", "dept"], None),
    (["surveys", "status", "dept"], None),
    (["coding", "list"], None),
    (["coding", "create", "proj", "--survey", "dept"], None),
    (["coding", "rounds", "proj"], None),
    (["coding", "export", "proj", "--out", "{tmp}/c.xlsx"], None),
    (["coding", "codebook", "diff", "proj"], None),
    (["coding", "agreement", "proj"], None),
    (["users", "list"], None),
    (["coding", "codebook", "import", "proj", "{codebook}"], None),
    (["coding", "evaluate", "proj"], None),
    (["users", "create", "a@example.org", "--password-stdin"], "correct horse battery staple\n"),
    (["users", "password", "a@example.org", "--password-stdin"], "correct horse battery staple\n"),
    (["export", "dept", "--out", "{tmp}/x.xlsx"], None),
    (["import", "dept", "{sheet}"], None),
    (["reach", "dept", "--out", "{tmp}/r.xlsx"], None),
    (["nominations", "tally", "dept"], None),
]


def _fresh_app(database_url: str, tmp_path: Path) -> Flask:
    return create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SURVEYKIT_DATABASE_URL": database_url,
        "SURVEYKIT_SECRET_KEY": "test-secret", "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS),
    })


def _tables(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize(("args", "given"), DATABASE_COMMANDS, ids=[" ".join(a[:2]) for a, _ in DATABASE_COMMANDS])
def test_database_commands_say_to_upgrade(database_url: str, tmp_path: Path, args: list[str], given: str | None):
    app = _fresh_app(database_url, tmp_path)
    files = {"tmp": str(tmp_path), "codebook": str(DATA / "codebook.yaml"), "sheet": str(_sheet(tmp_path / "s.csv"))}
    try:
        result = app.test_cli_runner().invoke(args=[a.format(**files) for a in args], input=given)
    finally:
        app.extensions["surveykit.engine"].dispose()
    assert result.exit_code == 1, result.output
    assert "The database has no tables yet: run `surveykit db upgrade`." in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)


def _sheet(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["unit", "coder", "codes"])
        for unit in range(6):
            writer.writerows([(f"u{unit}", "ann", f"c{unit % 2}"), (f"u{unit}", "bob", f"c{unit % 3 % 2}")])
    return path


def test_file_only_commands_never_touch_the_database(database_url: str, tmp_path: Path):
    app = _fresh_app(database_url, tmp_path)
    runner = app.test_cli_runner()
    outputs = []
    try:
        for args in (["instruments", "check"], ["instruments", "check", str(INSTRUMENTS)],
                     ["coding", "agreement", str(_sheet(tmp_path / "codings.csv")), "--bootstrap", "0"],
                     ["coding", "codebook", "convert", str(DATA / "codebook.yaml"), str(tmp_path / "book.qdc")]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, (args, result.output)
            outputs.append(result.output)
    finally:
        app.extensions["surveykit.engine"].dispose()
    assert "department-survey" in outputs[1]
    assert "alpha" in outputs[2].lower()
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert not Path(str(url.database)).exists()
    else:
        assert _tables(database_url) == []


def test_the_hint_is_right_after_upgrade(database_url: str, tmp_path: Path):
    app = _fresh_app(database_url, tmp_path)
    runner = app.test_cli_runner()
    try:
        assert runner.invoke(args=["surveys", "list"]).exit_code == 1
        upgraded = runner.invoke(args=["db", "upgrade"])
        assert upgraded.exit_code == 0, upgraded.output
        listed = runner.invoke(args=["surveys", "list"])
    finally:
        app.extensions["surveykit.engine"].dispose()
    assert listed.exit_code == 0, listed.output
    assert "db upgrade" not in listed.output


def test_the_installed_command_prints_the_hint_not_a_traceback(tmp_path: Path):
    database = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "SURVEYKIT_DATABASE_URL": f"sqlite:///{database}", "SURVEYKIT_SECRET_KEY": "x",
           "SURVEYKIT_INSTRUMENTS_DIR": str(INSTRUMENTS)}
    command = str(Path(sys.executable).parent / "surveykit")
    sheet = str(_sheet(tmp_path / "codings.csv"))
    agreement = subprocess.run([command, "coding", "agreement", sheet, "--bootstrap", "0"], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=120)
    assert agreement.returncode == 0, agreement.stderr
    assert not database.exists()
    listed = subprocess.run([command, "surveys", "list"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 1
    assert listed.stderr.strip() == "Error: The database has no tables yet: run `surveykit db upgrade`."


def test_an_older_schema_is_told_to_upgrade_too(database_url: str, tmp_path: Path):
    from alembic import command

    from surveyapp.db import alembic_config

    command.upgrade(alembic_config(database_url), "0005_merge")  # before the log-in sessions' columns
    app = _fresh_app(database_url, tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["users", "list"])
    finally:
        app.extensions["surveykit.engine"].dispose()
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: The database is not up to date (")
    assert result.output.rstrip().endswith("run `surveykit db upgrade`.")
