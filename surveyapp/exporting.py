"""What the export command and the download pages share: the answers streamed, the summary facts, the rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.model import DepartmentRate, SurveyInfo
from exports.suppress import Suppression, for_audience
from instrument import Instrument
from instrument.reportfile import ReportFile, load_report

from .invitations.rates import survey_status
from .models import Response, Survey


def stream_answers(session: Session, slug: str, step: Callable[[int], None] | None = None
                   ) -> Iterator[dict[str, Any]]:
    """Yield a survey's answer dicts, 1,000 rows fetched at a time, in random-key order (never arrival order)."""
    query = (select(Response.answers).where(Response.survey_slug == slug).order_by(Response.key)
             .execution_options(yield_per=1000))
    for (answers,) in session.execute(query):
        if step is not None:
            step(1)
        yield answers


def survey_info(session: Session, survey: Survey, answered: int, rule: Suppression | None = None) -> SurveyInfo:
    """Return the facts the summary sheet states about *survey*: the response rates as `surveys status` has them.

    With *rule*, the rates per department come too, hidden as the status page hides them (exact when OFF).
    """
    version = survey.instrument_version
    status = survey_status(session, survey, 0, exact=True)
    departments: tuple[DepartmentRate, ...] = ()
    if rule is not None:
        shown = survey_status(session, survey, rule.k, exact=not rule.enabled)
        departments = tuple(DepartmentRate(name, row["invited"], row["answered"], row["response_rate"])
                            for name, row in shown["departments"].items())
    return SurveyInfo(slug=survey.slug, title=survey.title, instrument_id=version.instrument_id,
                      instrument_version=version.version, opens_on=survey.opens_on, closes_on=survey.closes_on,
                      invited=status["invited"] or None, answered=answered, exported_on=dt.date.today(),
                      departments=departments)


def report_file(instrument: Instrument) -> ReportFile | None:
    """Return the report file next to *instrument* in SURVEYKIT_INSTRUMENTS_DIR (None: none); raise InvalidReport."""
    return load_report(Path(current_app.config["SURVEYKIT_INSTRUMENTS_DIR"]), instrument)


def audience_rule(shared: bool) -> Suppression:
    """Return the rule of an output: exact for the research team, SURVEYKIT_MIN_CELL when *shared* outside it."""
    return for_audience(shared, int(current_app.config["SURVEYKIT_MIN_CELL"]))
