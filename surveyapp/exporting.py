"""What the export commands and the pages share: the answers streamed, the summary facts, the rule, question texts."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from coding.store import Project, Source
from exports.model import DepartmentRate, SurveyInfo
from exports.suppress import Suppression, for_audience
from instrument import Instrument
from instrument.reportfile import ReportFile, load_report

from .invitations.parking import ParkingError, mix_for_reading
from .invitations.rates import survey_status
from .models import Response, Survey, answers_of
from .surveys import instrument_of

logger = logging.getLogger(__name__)


def mix_waiting(session: Session, survey: Survey) -> None:
    """Before reading answers: mix parked answers into responses (all of them once the survey is closed)."""
    try:
        mix_for_reading(session, survey)
    except ParkingError as exc:  # the export goes on with what is mixed; closing names the problem too
        logger.error("%s", exc)


def stream_answers(session: Session, slug: str, step: Callable[[int], None] | None = None,
                   include_test: bool = False) -> Iterator[dict[str, Any]]:
    """Yield a survey's answer dicts, 200 rows fetched at a time, in random-key order (never arrival order).

    Answers given through the test link come only with *include_test* (the team's downloads ``?test=include``,
    ``export --include-test``): every table, rate, results page and coding project leaves them out.
    A fetched batch is held decoded (about 10 KB a row for 40 questions): 1,000 at a time made a tenth of the
    export's peak memory (bench/export.py), and fetching 200 at a time costs no measurable time.
    """
    query = (select(Response.answers).where(answers_of(slug, include_test)).order_by(Response.key)
             .execution_options(yield_per=200))
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


def question_texts(session: Session, project: Project) -> dict[str, str]:
    """Return 'survey:question' -> the question's text for the project's survey sources."""
    out: dict[str, str] = {}
    for source in session.scalars(select(Source).where(Source.project_id == project.id)):
        survey = session.get(Survey, source.survey)
        if survey is None:
            continue
        try:
            question = instrument_of(survey).question(source.question.partition(".")[0])
        except KeyError:
            continue
        out[f"{source.survey}:{source.question}"] = question.text
    return out
