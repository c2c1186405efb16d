"""Friendly error pages: a respondent never sees a stack trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from instrument.messages import N_

from . import languages
from .db import get_session
from .published import published
from .surveys import instrument_of

# Flask-WTF's reasons for refusing a form (shown on the page), for extraction.
CSRF_REASONS = (N_("The CSRF session token is missing."), N_("The CSRF token has expired."),
                N_("The CSRF token is invalid."), N_("The CSRF token is missing."), N_("The CSRF tokens do not match."),
                N_("The referrer does not match the host."), N_("The referrer header is missing."))


def _survey_language() -> None:
    """Use the survey's language for an error page on a respondent's page (the view did not get to choose)."""
    slug = (request.view_args or {}).get("slug")
    if request.blueprint != "respond" or not isinstance(slug, str) or not slug.isprintable() or "language" in g:
        return
    survey = published(get_session(), slug)
    if survey is not None:
        languages.choose(instrument_of(survey, get_session()), slug, survey.title)


def init_app(app: Flask) -> None:
    """Register the error pages on *app*."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        # Refused before the view ran, so the respondent's language is chosen here.
        _survey_language()
        return render_template("errors/csrf.html", reason=gettext(error.description or "")), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        # Python's gettext, not the template's: that one marks its result safe and formats it with %.
        name = gettext(error.name)
        return render_template("errors/http.html", error=error, name=name), error.code or 500

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> Any:
        # The process boundary: roll back whatever the request began, log it, and show a calm page.
        get_session().rollback()
        app.logger.exception("unhandled error: %s", type(error).__name__)
        return render_template("errors/http.html", error=None), 500
