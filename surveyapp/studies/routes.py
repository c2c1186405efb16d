"""The investigators' study pages: ``/admin/studies`` lists the studies, ``/admin/studies/<slug>`` shows one.

A study's page is read-only: its waves, exact counts per wave and arm, and for the outcomes chosen (any score
of the baseline wave's instrument; all of them by default) the comparison table of each and the forest chart
over them, the same figures as ``surveykit studies compare`` (both call :func:`.analysis.compare_outcomes`).
It reads participants, links and answers, never the key table.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from exports.svgcharts import forest_svg
from exports.trial import TrialError
from exports.trialtable import p_text

from ..auth.access import allowed, visible_studies
from ..auth.routes import current_user
from ..db import get_session
from ..models import Survey
from ..surveys import instrument_of
from .analysis import StudyComparison, compare_outcomes, wave_counts
from .models import Study, StudyError, StudyWave
from .store import find_wave

bp = Blueprint("studies", __name__)
bp.add_app_template_global(forest_svg, "forest_svg")
bp.add_app_template_global(p_text, "p_text")


@bp.get("/admin/studies")
@allowed("survey_list")
def index() -> Any:
    """List the studies the user may open (an investigator: those whose every wave is in their surveys)."""
    db = get_session()
    user = current_user()
    assert user is not None  # allowed() sent visitors to the log-in page
    visible = visible_studies(db, user)
    studies = [s for s in db.scalars(select(Study).order_by(Study.slug)) if visible is None or s.slug in visible]
    return render_template("studies/index.html", studies=studies)


@bp.get("/admin/studies/<slug>")
@allowed("study_view")
def study(slug: str) -> Any:
    """Show a study: waves, n per wave and arm, and each chosen outcome's comparison with the forest chart."""
    db = get_session()
    found = db.get(Study, slug)
    if found is None:
        abort(404, f"There is no study '{slug}'.")
    enrolled, counts = wave_counts(db, found)
    scores: list[str] = []
    if counts:
        survey = db.get(Survey, counts[0].wave.survey_slug)
        assert survey is not None  # the foreign key keeps it
        scores = [s.id for s in instrument_of(survey).scores]
    chosen = request.args.getlist("outcome") or scores
    result: StudyComparison | None = None
    first: StudyWave | None = None
    second: StudyWave | None = None
    error, status = "", 200
    unknown = [o for o in chosen if o not in scores]
    if unknown:
        error, status = (f"No score '{unknown[0]}' in the baseline wave's instrument (scores: "
                         f"{', '.join(scores) or 'none'})."), 400
    elif len(counts) < 2:
        error = "A comparison needs two waves; add one with 'surveykit studies add-wave'."
    elif chosen:
        try:
            first = find_wave(db, found, request.args.get("baseline") or None, 1)
            second = find_wave(db, found, request.args.get("follow_up") or None, 2)
            result = compare_outcomes(db, found, first, second, chosen)
        except StudyError as exc:
            error, status = str(exc), 400
        except TrialError as exc:  # not enough answers yet: a state of the study, not a bad request
            error = f"No comparison yet: {exc}."
    return render_template("studies/study.html", study=found, enrolled=enrolled, counts=counts, scores=scores,
                           chosen=chosen, result=result, error=error, first=first, second=second), status
