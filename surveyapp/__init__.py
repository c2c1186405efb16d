"""surveykit's web and command-line edge: a Flask app built by :func:`create_app`."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from .settings import from_environment

if TYPE_CHECKING:
    from flask_wtf.csrf import CSRFProtect

# app.extensions key: what create_app registered to stop the app's background work (see shutdown).
SHUTDOWN_HOOKS = "surveykit.shutdown"


_CSRF: list[CSRFProtect] = []


def __getattr__(name: str) -> Any:
    # ``surveyapp.csrf``: made on first use, so `surveykit --help` imports neither Flask-WTF nor SQLAlchemy, Babel and
    # the instrument library (create_app imports them; tests/test_cli_lazy.py checks what --help loads).
    if name == "csrf":
        if not _CSRF:
            from .security import csrf_protection

            _CSRF.append(csrf_protection())
        return _CSRF[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _secret_key(app: Flask) -> str:
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class SurveykitFlask(Flask):
    """Flask, asking whether a hook or a view is a coroutine function once per function, not at every call (Flask
    asks inspect about each of them at each request: 13 times per respondent page)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: set[Any] = set()

    def ensure_sync(self, func: Any) -> Any:
        try:
            if func in self._plain_functions:
                return func
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)
        found = super().ensure_sync(func)
        if found is func:
            if len(self._plain_functions) >= 1024:  # functions made per request would otherwise pile up
                self._plain_functions.clear()
            self._plain_functions.add(func)
        return found


def configured_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Return the app with its settings only (defaults, then SURVEYKIT_* environment and instance config, then
    *test_config*): no database, no blueprints. Commands that only need a setting use it; create_app builds on it."""
    instance = (test_config or {}).get("INSTANCE_PATH")
    app = SurveykitFlask(__name__, instance_relative_config=True, instance_path=instance)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(from_environment())
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    app.config["DATABASE_URL"] = (app.config["SURVEYKIT_DATABASE_URL"]
                                  or f"sqlite:///{Path(app.instance_path) / 'surveykit.sqlite3'}")
    app.config["SECRET_KEY"] = app.config["SURVEYKIT_SECRET_KEY"] or _secret_key(app)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a physician may leave a page open for a whole shift
    return app


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: :func:`configured_app`, then the database, the pages and the commands."""
    app = configured_app(test_config)

    # The development server logs each request with the client's address and the path (which may hold an
    # invitation token): respondents' anonymity forbids that, so request logging is off.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from . import assets, db, languages, security

    db.init_app(app)
    __getattr__("csrf").init_app(app)
    security.init_app(app)
    assets.init_app(app)
    languages.init_app(app)

    from . import commands, errors, filters, jobs, pages, respond, testmode
    from .admin import accounts, downloads, lifecycle
    from .admin import instruments as instrument_pages
    from .admin import routes as admin
    from .auth import link_routes
    from .auth import routes as auth
    from .coding_web import assist as coding_assist
    from .coding_web import bp as coding_bp
    from .invitations import links
    from .results import routes as results
    from .studies import routes as studies

    del accounts, lifecycle, link_routes  # imported for their views, registered on the admin and auth blueprints
    filters.init_app(app)
    commands.init_app(app)

    app.register_blueprint(respond.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(testmode.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(coding_bp)
    # The assistant first: its running update may still hand a fit to the job thread.
    app.extensions[SHUTDOWN_HOOKS] = [coding_assist.shutdown, jobs.shutdown]
    app.register_blueprint(downloads.bp)
    app.register_blueprint(results.bp)
    app.register_blueprint(studies.bp)
    app.register_blueprint(instrument_pages.bp)
    errors.init_app(app)

    return app


def shutdown(app: Flask) -> None:
    """Stop the app's background threads (the coding assistant's, the jobs'): test fixtures and gunicorn call this."""
    for hook in app.extensions.get(SHUTDOWN_HOOKS, ()):
        hook(app)
