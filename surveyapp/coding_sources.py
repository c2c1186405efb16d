"""Survey answers as coding units: the bridge between stored responses and a coding project.

Used alike by `surveykit coding create`/`add-answers` and by the browser's new-project page and "Add new
answers" button (``coding_web/setup_routes.py``), so both read the same answers the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coding.projects import AddResult, NewUnit, add_source, add_units, create_project
from coding.store import Project, ProjectError
from instrument import question_type

from .models import Response, Survey, answers_of
from .surveys import instrument_of


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


def open_questions(session: Session, slug: str) -> list[tuple[str, str]]:
    """Return the open-ended texts of survey *slug* a project may code, as (id, text): free-text questions, and
    the "Other, please specify" text of a choice question as ``qid.other``."""
    survey = session.get(Survey, slug)
    if survey is None:
        raise ProjectError(f"no survey '{slug}'")
    out: list[tuple[str, str]] = []
    for question in instrument_of(survey).questions:
        if question_type(question.type).summary == "text":
            out.append((question.id, question.text))
        elif question.other:
            out.append((f"{question.id}.other", f"{question.text} (\u201cOther, please specify\u201d)"))
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


def units_from_surveys(session: Session, sources: Sequence[tuple[str, str]],
                       tick: Callable[[], None] | None = None) -> list[NewUnit]:
    """Return a unit per non-empty answer to each (survey, question) of *sources*; *tick* once per response."""
    by_survey: dict[str, list[str]] = {}
    for slug, qid in sources:
        by_survey.setdefault(slug, []).append(qid)
    units: list[NewUnit] = []
    for slug, qids in by_survey.items():
        units.extend(survey_units(session, slug, qids, tick=tick))
    return units


def create_from_surveys(session: Session, name: str, sources: Sequence[tuple[str, str]], who: str,
                        units: Sequence[NewUnit] | None = None, *, empty_ok: bool = False) -> tuple[Project, AddResult]:
    """Create project *name* fed by *sources* (survey, question), with their current answers as its first round.

    *units* are those answers when the caller read them already (with its own progress bar). Unless *empty_ok*,
    raise ProjectError when there is no answer at all: a project of nothing to code is not created. Flushes,
    never commits (the caller commits or rolls back).
    """
    project = create_project(session, name, created_by=who)
    for slug, qid in sources:
        add_source(session, project, slug, qid)
    if units is None:
        units = units_from_surveys(session, sources)
    if not units and not empty_ok:
        asked = ", ".join(f"{slug}:{qid}" for slug, qid in sources)
        raise ProjectError(f"no answers to code yet: {asked} has no non-empty answer stored")
    return project, add_units(session, project, units)


def refresh_units(session: Session, project: Project, round_name: str | None = None,
                  tick: Callable[[], None] | None = None) -> AddResult:
    """Add the answers to *project*'s survey questions that arrived since, as a new round (none: nothing new)."""
    if not project.sources:
        raise ProjectError(f"project '{project.name}' has no survey questions (it was imported from a file)")
    return add_units(session, project, units_from_surveys(session, [(s.survey, s.question) for s in project.sources],
                                                          tick=tick), round_name=round_name)
