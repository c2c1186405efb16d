"""Click command groups of the `surveykit` command, one module per group, registered on the app's CLI."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Add every command group to ``app.cli`` (so `surveykit` and the test runner both see them)."""
    from . import assist, coding, database, instruments, surveys

    if "evaluate" not in coding.group.commands:
        assist.add_evaluate_command(coding.group)
    for group in (instruments.group, database.group, surveys.group, coding.group):
        app.cli.add_command(group)
    from ..auth.commands import users_group

    app.cli.add_command(users_group)
    from .exports import COMMANDS as export_commands

    for command in export_commands:
        app.cli.add_command(command)
