"""Survey answers as coding units: the bridge between stored responses and `surveykit coding create`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.projects import NewUnit
from coding.store import ProjectError
from instrument import question_type

from ...models import Response, Survey, answers_of
from ...surveys import instrument_of


def coded_questions(session: Session, slug: str, questions: Sequence[str] = ()) -> list[str]:
    """Check that *questions* are open-ended questions of survey *slug* (default: those marked `coding: true`)."""
    survey = session.get(Survey, slug)
    if survey is None:
        raise ProjectError(f"no survey '{slug}'")
    inst = instrument_of(survey)
    if not questions:
        marked = [q.id for q in inst.coded_questions()]
        if not marked:
            raise ProjectError(f"survey '{slug}': no question is marked 'coding: true'; name them with --question")
        return marked
    out = []
    for qid in questions:
        base, _, other = qid.partition(".")
        try:
            question = inst.question(base)
        except KeyError:
            raise ProjectError(f"survey '{slug}': no question '{base}' in {inst.id} v{inst.version}") from None
        if other:
            if other != "other" or not question.other:
                raise ProjectError(f"survey '{slug}': question '{base}' has no 'Other, please specify' text")
        elif question_type(question.type).summary != "text":
            raise ProjectError(f"survey '{slug}': question '{qid}' is {question.type}, not an open-ended text")
        out.append(qid)
    return out


def has_question(session: Session, slug: str, qid: str) -> bool:
    """Say whether survey *slug* exists and its instrument has question *qid* (without '.other')."""
    survey = session.get(Survey, slug)
    if survey is None:
        raise ProjectError(f"no survey '{slug}'")
    try:
        instrument_of(survey).question(qid.partition(".")[0])
    except KeyError:
        return False
    return True


def response_total(session: Session, slug: str) -> int:
    """Return how many responses survey *slug* has."""
    return session.scalar(select(func.count()).select_from(Response).where(answers_of(slug))) or 0


def survey_units(session: Session, slug: str, questions: Sequence[str],
                 tick: Callable[[], None] | None = None) -> Iterator[NewUnit]:
    """Yield a unit per non-empty answer to *questions* in survey *slug* (source: survey:slug:qid:key).

    The respondent of a unit is the response key, so "% of respondents" counts people, not answers; nothing
    else about the response (day, version) goes into the coding tables.
    """
    rows = session.execute(select(Response.key, Response.answers).where(answers_of(slug))
                           .order_by(Response.key).execution_options(yield_per=500))
    for key, answers in rows:
        for qid in questions:
            text = answers.get(qid)
            if isinstance(text, str) and text.strip():
                yield NewUnit(source=f"survey:{slug}:{qid}:{key}", text=text, label=f"{slug}:{qid}:{key}",
                              respondent=f"{slug}:{key}")
        if tick is not None:
            tick()
