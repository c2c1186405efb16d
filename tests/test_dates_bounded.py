"""Dates stay within 1990-01-01..2100-12-31: a date answer outside is refused when given; a stored record dated
outside (imported data, 9999-12-31) is left out of the reach report with a note instead of breaking it."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from paper_data import submit
from survey_setup import open_survey, store
from test_reach import DEPARTMENTS, INSTRUMENT, forms
from werkzeug.datastructures import MultiDict

from exports.reach import reach_report
from instrument import parse_section
from surveyapp.db import new_session
from surveyapp.models import Response, Survey
from surveyapp.surveys import instrument_of

SECTION = next(s for s in INSTRUMENT.sections if any(q.id == "interaction_date" for q in s.questions))


def _date_answer(day: str) -> tuple[object, str]:
    form = MultiDict({"interaction_date": day, "department": "em", "contact": "first"})
    answers, errors = parse_section(SECTION, form, {})
    return answers.get("interaction_date"), errors.get("interaction_date", "")


@pytest.mark.parametrize("day", ["1990-01-01", "2024-02-29", "2100-12-31"])
def test_a_date_within_the_span_is_taken(day: str):
    assert _date_answer(day) == (day, "")


@pytest.mark.parametrize("day", ["1989-12-31", "2101-01-01", "9999-12-31", "0001-01-01"])
def test_a_date_outside_the_span_is_refused_when_answered(day: str):
    value, error = _date_answer(day)
    assert error == "Enter a date from 1990-01-01 to 2100-12-31."
    assert value == day  # shown back on the page to be put right, never stored


def _records(*extra: str) -> list[dict[str, object]]:
    records = [submit(INSTRUMENT, f) for f in forms()]
    for day in extra:
        records.append({**records[0], "interaction_date": day})
    return records


def test_reach_leaves_out_records_dated_outside_the_span():
    plain = reach_report(_records(), DEPARTMENTS)
    report = reach_report(_records("9999-12-31", "1900-01-01"), DEPARTMENTS)
    assert report.implausible == 2
    assert (report.start, report.end, report.interactions) == (plain.start, plain.end, plain.interactions)
    assert report.by_month == plain.by_month
    assert any("2 records dated before 1990-01-01 or after 2100-12-31 (such as 1900-01-01, 9999-12-31)" in n
               for n in report.notes)


def test_reach_refuses_a_period_outside_the_span():
    with pytest.raises(ValueError, match="must lie within 1990-01-01 to 2100-12-31"):
        reach_report(_records(), DEPARTMENTS, start=dt.date(1900, 1, 1))


def _store_dated(app, slug: str, day: str) -> None:
    """Store one record dated *day* as an import from another system might have (past the answer check)."""
    with app.app_context(), new_session() as session:
        survey = session.get(Survey, slug)
        version = survey.instrument_version
        answers = {**submit(instrument_of(survey), forms()[0]), "interaction_date": day}
        session.add(Response(survey_slug=slug, instrument_id=version.instrument_id,
                             instrument_version=version.version, instrument_sha256=version.sha256,
                             submitted_on=dt.date(2022, 3, 20), answers=answers))
        session.commit()


def test_reach_command_survives_a_stored_record_dated_9999(app, runner, tmp_path):
    open_survey(runner, "interaction-record", "post-reach")
    store(app, "post-reach", forms())
    _store_dated(app, "post-reach", "9999-12-31")
    out = tmp_path / "reach.xlsx"
    result = runner.invoke(args=["reach", "post-reach", "--out", str(out), "--no-suppression"])
    assert result.exit_code == 0, result.output
    assert "12 interactions (2019-06-03 to 2019-12-05)" in result.output
    assert "note: 1 records dated before 1990-01-01 or after 2100-12-31 (such as 9999-12-31) are left out" \
        in result.output
    assert len(list(load_workbook(out)["Months"].iter_rows())) == 1 + 7


def test_reach_command_refuses_a_period_outside_the_span(app, runner, tmp_path):
    open_survey(runner, "interaction-record", "post-reach")
    result = runner.invoke(args=["reach", "post-reach", "--out", str(tmp_path / "r.xlsx"), "--start", "1900-01-01"])
    assert result.exit_code == 1
    assert "Error: the period (1900-01-01) must lie within 1990-01-01 to 2100-12-31" in result.output
