"""Click command groups of the `surveykit` command, one module per group, registered on the app's CLI."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

UPGRADE_HINT = "run `surveykit db upgrade`"
_MISSING = ("no such table", "no such column", "undefinedtable", "undefinedcolumn")


def _schema_message(exc: DBAPIError) -> str | None:
    """Say what to run when *exc* comes from a database without surveykit's tables (None for other errors)."""
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    if not any(word in text for word in _MISSING):
        return None
    try:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        with app.extensions["surveykit.engine"].connect() as conn:
            empty = not inspect(conn).has_table("alembic_version")
    except (SQLAlchemyError, click.ClickException, RuntimeError, KeyError):
        empty = False
    if empty:
        return f"The database has no tables yet: {UPGRADE_HINT}."
    return f"The database is not up to date ({str(exc.orig).splitlines()[0]}): {UPGRADE_HINT}."


def _guarded(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except DBAPIError as exc:
            message = _schema_message(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

    run.surveykit_guarded = True  # type: ignore[attr-defined]
    return run


def _guard(command: click.Command) -> None:
    """Make every command under *command* say what to run, not print a traceback, on an unmigrated database."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _guard(sub)
    if command.callback is not None and not getattr(command.callback, "surveykit_guarded", False):
        command.callback = _guarded(command.callback)


def init_app(app: Flask) -> None:
    """Add every command group to ``app.cli`` (so `surveykit` and the test runner both see them)."""
    from . import assist, coding, database, instruments, nominations, studies, surveys, trial

    if "evaluate" not in coding.group.commands:
        assist.add_evaluate_command(coding.group)
    for group in (instruments.group, database.group, surveys.group, coding.group, nominations.group,
                  trial.group, studies.group):
        app.cli.add_command(group)
    from ..auth.commands import users_group

    app.cli.add_command(users_group)
    from .exports import COMMANDS as export_commands

    for command in export_commands:
        app.cli.add_command(command)
    _guard(app.cli)
