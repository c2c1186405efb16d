"""Surveys opened, answers stored and exports run through the app and its CLI, for the tests that need them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask
from paper_data import submit

from surveyapp.db import new_session
from surveyapp.models import Response, Survey
from surveyapp.surveys import instrument_of


def store(app: Flask, slug: str, forms: list[dict[str, Any]]) -> None:
    with app.app_context(), new_session() as session:
        survey = session.get(Survey, slug)
        instrument = instrument_of(survey)
        version = survey.instrument_version
        for form in forms:
            session.add(Response(survey_slug=slug, instrument_id=version.instrument_id,
                                 instrument_version=version.version, instrument_sha256=version.sha256,
                                 submitted_on=dt.date(2022, 3, 20), answers=submit(instrument, form)))
        session.commit()


def open_survey(runner, instrument: str, slug: str, *extra: str) -> str:
    result = runner.invoke(args=["surveys", "create", instrument, "--id", slug, "--title", "POST survey", *extra])
    assert result.exit_code == 0, result.output
    return slug


def export(runner, slug: str, out: Path, *extra: str) -> Path:
    result = runner.invoke(args=["export", slug, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def marker_instruments(tmp_path: Path, instrument_id: str) -> Path:
    """Write a two-page instrument (a note, then a marker that tells each answer apart); return its folder."""
    folder = tmp_path / "instruments"
    folder.mkdir(exist_ok=True)
    (folder / f"{instrument_id}.yaml").write_text(
        f"id: {instrument_id}\nversion: 1\ntitle: Two pages\nsections:\n"
        "  - id: first\n    questions:\n      - {id: note, type: text, text: A note}\n"
        "  - id: last\n    questions:\n      - {id: marker, type: text, text: The marker}\n", encoding="utf-8")
    return folder
