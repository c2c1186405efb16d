"""What the export command and the download pages share: the answers streamed, the summary facts, the rule."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from exports.model import SurveyInfo
from exports.suppress import OFF, Suppression

from .invitations.parking import ParkingError, mix_for_reading
from .invitations.sending import invitations_sent
from .models import Response, Survey

logger = logging.getLogger(__name__)


def mix_waiting(session: Session, survey: Survey) -> None:
    """Before reading answers: mix parked answers into responses (all of them once the survey is closed)."""
    try:
        mix_for_reading(session, survey)
    except ParkingError as exc:  # the export goes on with what is mixed; closing names the problem too
        logger.error("%s", exc)


def stream_answers(session: Session, slug: str, step: Callable[[int], None] | None = None
                   ) -> Iterator[dict[str, Any]]:
    """Yield a survey's answer dicts, 1,000 rows fetched at a time, in random-key order (never arrival order)."""
    query = (select(Response.answers).where(Response.survey_slug == slug).order_by(Response.key)
             .execution_options(yield_per=1000))
    for (answers,) in session.execute(query):
        if step is not None:
            step(1)
        yield answers


def invited_count(session: Session, survey: Survey) -> int | None:
    """Return how many were invited to an invitation-mode survey (None for open surveys)."""
    if survey.mode != "invitation":
        return None
    return invitations_sent(session, survey.slug)


def survey_info(session: Session, survey: Survey, answered: int) -> SurveyInfo:
    """Return the facts the summary sheet states about *survey*."""
    version = survey.instrument_version
    return SurveyInfo(slug=survey.slug, title=survey.title, instrument_id=version.instrument_id,
                      instrument_version=version.version, opens_on=survey.opens_on, closes_on=survey.closes_on,
                      invited=invited_count(session, survey), answered=answered, exported_on=dt.date.today())


def suppression_rule(no_suppression: bool) -> Suppression:
    """Return the small-cell rule of this app (SURVEYKIT_MIN_CELL), or OFF when opted out."""
    return OFF if no_suppression else Suppression(k=int(current_app.config["SURVEYKIT_MIN_CELL"]))
