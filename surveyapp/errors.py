"""Friendly error pages: a respondent never sees a stack trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .db import get_session


def init_app(app: Flask) -> None:
    """Register the error pages on *app*."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return render_template("errors/csrf.html", reason=error.description), 400

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
