"""Views of the results pages: a survey's results for investigators, its share links, and the shared page.

``/admin/s/<slug>/results`` (investigators) shows the workbook's tables and charts exactly, with the report
file's figures when the instrument has one. ``/results/<token>`` (no log-in) shows what the shared workbook
(``export --shared``) holds: the same rule and joint protection, no raw data, no free text, no report file,
and how many counts it hides. An unknown or revoked token is a 404 page. Counting is :mod:`exports.resultspage`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from exports.resultspage import PageResults, page_results
from exports.svgcharts import likert_svg
from exports.tabular.percent import n_pct, percent
from instrument.reportfile import InvalidReport, ReportFile

from ..admin.forms import ActionForm
from ..auth.access import allowed, can
from ..auth.routes import current_user
from ..db import get_session
from ..exporting import audience_rule, mix_waiting, report_file, stream_answers, survey_info
from ..models import Survey
from ..surveys import instrument_of, response_count
from .links import create_link, find_survey, revoke_link, survey_links

bp = Blueprint("results", __name__)
bp.add_app_template_global(likert_svg, "likert_svg")
bp.add_app_template_global(percent, "percent")
bp.add_app_template_global(n_pct, "n_pct")  # the coding results page too: "42 (63.6%)"

NOT_FOUND = "This results link does not exist or was withdrawn by the survey's team."


def _survey(slug: str) -> Survey:
    survey = get_session().get(Survey, slug)
    if survey is None:
        abort(404, f"There is no survey '{slug}'.")
    return survey


def _results(survey: Survey, shared: bool, report: ReportFile | None = None) -> PageResults:
    db = get_session()
    rule = audience_rule(shared)
    info = survey_info(db, survey, response_count(db, survey.slug), rule)
    return page_results(instrument_of(survey), info, stream_answers(db, survey.slug), rule, report)


@bp.get("/admin/s/<slug>/results")
@allowed("survey_results")
def survey_results(slug: str) -> Any:
    """Show a survey's results to the research team: exact tables, charts, report figures, share links."""
    db = get_session()
    survey = _survey(slug)
    mix_waiting(db, survey)
    if not can(db, current_user(), "survey_view", survey=slug):
        # A viewer in the survey's team: the shared results (small counts hidden), as a share link shows them.
        return render_template("results/shared.html", survey=survey, page=_results(survey, True))
    report, report_error = None, ""
    try:
        report = report_file(instrument_of(survey))
    except InvalidReport as exc:
        report_error = str(exc)
    return render_template("results/survey.html", survey=survey, page=_results(survey, False, report),
                           report_error=report_error, links=survey_links(db, slug), form=ActionForm())


@bp.post("/admin/s/<slug>/results/links")
@allowed("survey_edit")
def new_link(slug: str) -> Any:
    """Make a share link to the survey's shared results; show it once."""
    db = get_session()
    survey = _survey(slug)
    if ActionForm().validate_on_submit():
        token = create_link(db, survey)
        db.commit()
        flash("Share link made. Copy it now: it is shown only this once (only its fingerprint is kept). "
              f"{url_for('results.shared', token=token, _external=True)}", "info")
    return redirect(url_for("results.survey_results", slug=slug) + "#share")


@bp.post("/admin/s/<slug>/results/links/<key>/revoke")
@allowed("survey_edit")
def revoke(slug: str, key: str) -> Any:
    """Revoke a share link: from now on it shows 'not found'."""
    db = get_session()
    if ActionForm().validate_on_submit():
        if not revoke_link(db, slug, key):
            abort(404, "There is no such working share link for this survey.")
        db.commit()
        flash("Share link revoked: it no longer opens the results.", "info")
    return redirect(url_for("results.survey_results", slug=slug) + "#share")


@bp.get("/results/<token>")
def shared(token: str) -> Any:
    """Show a survey's shared results (small counts hidden) to whoever holds a working link."""
    survey = find_survey(get_session(), token)
    if survey is None:
        abort(404, NOT_FOUND)
    return render_template("results/shared.html", survey=survey, page=_results(survey, True))


@bp.after_request
def _noindex(response: WerkzeugResponse) -> WerkzeugResponse:
    # Results pages are for the team or whoever was given a link, never for search engines.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
