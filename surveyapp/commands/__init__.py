"""Click command groups of the `surveykit` command, one module per group, registered on the app's CLI."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo

if TYPE_CHECKING:  # SQLAlchemy loads with the app, when a command runs: `surveykit --help` needs none of it
    from sqlalchemy.exc import DBAPIError

UPGRADE_HINT = "run `surveykit db upgrade`"
_MISSING = ("no such table", "no such column", "undefinedtable", "undefinedcolumn")


def _schema_message(exc: DBAPIError) -> str | None:
    """Say what to run when *exc* comes from a database without surveykit's tables (None for other errors)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

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
        except Exception as exc:
            # A command that never loaded SQLAlchemy (checking instrument files) cannot have raised its error, and
            # importing it here to find out would double that command's start-up time.
            exc_module = sys.modules.get("sqlalchemy.exc")
            if exc_module is None or not isinstance(exc, exc_module.DBAPIError):
                raise
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


# Every command, by name: (module, attribute, the one-line help `surveykit --help` lists). Commands load on first
# use, so `surveykit --help` and a web worker import none of them (tests/test_cli_lazy.py checks the help agrees).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "coding": ("surveyapp.commands.coding", "group",
               "Team coding: projects, blind coding, agreement, codebooks, theme tables."),
    "db": ("surveyapp.commands.database", "group", "Manage the database."),
    "export": ("surveyapp.commands.exports", "export_command",
               "Write survey SLUG's tables, charts and raw data to an Excel workbook "
               "(or raw data to CSV, SPSS, Stata)."),
    "import": ("surveyapp.commands.exports", "import_command",
               "Import answers to survey SLUG from FILE "
               "(.csv or .xlsx: Microsoft Forms, Qualtrics, or our raw export)."),
    "instruments": ("surveyapp.commands.instruments", "group", "Check and list survey instruments."),
    "nominations": ("surveyapp.commands.nominations", "group", "Tally a nomination survey."),
    "reach": ("surveyapp.commands.exports", "reach_command",
              "Write the reach report of interaction-record survey SLUG (by department, month, program year, length)."),
    "studies": ("surveyapp.commands.studies", "group",
                "Studies: surveys as waves, participants with arms, their comparison."),
    "surveys": ("surveyapp.commands.surveys", "group", "Open, list and close surveys."),
    "trial": ("surveyapp.commands.trial", "group", "Compare waves and arms of a trial or a repeated survey."),
    "users": ("surveyapp.auth.commands", "users_group", "Investigators' accounts (respondents never log in)."),
    "worker": ("surveyapp.commands.worker", "worker_command",
               "Run background jobs from SURVEYKIT_BROKER_URL until stopped (Ctrl-C, SIGTERM)."),
}
_loaded: dict[str, click.Command] = {}


def load(name: str) -> click.Command:
    """Import the command *name* (a key of COMMANDS), ready to run: guarded against an unmigrated database."""
    if name not in _loaded:
        module, attribute, _help = COMMANDS[name]
        command = getattr(importlib.import_module(module), attribute)
        if name == "coding" and "evaluate" not in command.commands:
            from . import assist

            assist.add_evaluate_command(command)
        _guard(command)
        _loaded[name] = command
    return _loaded[name]


class LazyCommands(AppGroup):
    """``app.cli``: surveykit's commands, each imported when first asked for (the test runner uses this group)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = load(cmd_name)
        return command


def init_app(app: Flask) -> None:
    """Give the app surveykit's commands (so `surveykit` and the test runner both see them), loaded on first use."""
    app.cli = LazyCommands(app.name)
