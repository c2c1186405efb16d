"""Opening surveys from the CLI; instrument versions are frozen once answered."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from surveyapp.db import new_session
from surveyapp.models import Response

from conftest import INSTRUMENTS, make_test_app
from respondent import Respondent


def test_create_list_close(runner):
    result = runner.invoke(args=["surveys", "create", "nomination", "--id", "nom-2024", "--title", "Nominate"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5000/s/nom-2024" in result.output
    listing = runner.invoke(args=["surveys", "list"]).output
    assert "nom-2024" in listing and "open" in listing
    again = runner.invoke(args=["surveys", "create", "nomination", "--id", "nom-2024"])
    assert again.exit_code == 1 and "exists already" in again.output
    assert "closed" in runner.invoke(args=["surveys", "close", "nom-2024"]).output


def test_create_refuses_bad_input(runner):
    assert "no instrument 'nope'" in runner.invoke(args=["surveys", "create", "nope", "--id", "x1"]).output
    bad_slug = runner.invoke(args=["surveys", "create", "nomination", "--id", "Bad Slug"])
    assert bad_slug.exit_code == 1 and "lower-case" in bad_slug.output
    bad_date = runner.invoke(args=["surveys", "create", "nomination", "--id", "n1", "--closes", "soon"])
    assert bad_date.exit_code == 2 and "not a date" in bad_date.output
    backwards = runner.invoke(args=["surveys", "create", "nomination", "--id", "n2", "--opens", "2025-02-01",
                                    "--closes", "2025-01-01"])
    assert "before the opening date" in backwards.output


def test_demo_opens_one_survey_per_instrument_once(runner):
    first = runner.invoke(args=["surveys", "demo"])
    assert first.output.count("opened") == 5
    assert runner.invoke(args=["surveys", "demo"]).output.count("opened") == 0


def test_changed_instrument_needs_a_new_version_once_answered(database_url, tmp_path: Path):
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS, folder)
    app = make_test_app(database_url, tmp_path, SURVEYKIT_INSTRUMENTS_DIR=str(folder))
    runner, client = app.test_cli_runner(), app.test_client()
    assert runner.invoke(args=["surveys", "create", "nomination", "--id", "nom-a"]).exit_code == 0
    r = Respondent(client, "nom-a")
    r.start()
    r.answer({"nominee_1": "Dr A"})
    path = folder / "nomination.yaml"
    path.write_text(path.read_text().replace("Nominate your POST peer supporters", "Nominate supporters"))
    refused = runner.invoke(args=["surveys", "create", "nomination", "--id", "nom-b"])
    assert refused.exit_code == 1 and "give it a new version number" in refused.output
    path.write_text(path.read_text().replace("version: 1", "version: 2"))
    accepted = runner.invoke(args=["surveys", "create", "nomination", "--id", "nom-b"])
    assert accepted.exit_code == 0 and "v2" in accepted.output
    # The old survey still serves, and its answers still carry, version 1.
    assert "Nominate your POST peer supporters" in client.get("/s/nom-a").text
    with app.app_context(), new_session() as session:
        [old] = session.scalars(select(Response)).all()
    assert old.instrument_version == 1
    app.extensions["surveykit.engine"].dispose()
