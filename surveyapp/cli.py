"""The one `surveykit` command: Flask's CLI group, with surveykit's commands loaded when first used.

`surveykit --help` lists the commands from :data:`surveyapp.commands.COMMANDS` without building the app or importing
any command module; a command's own module (and the app, through ``with_appcontext``) loads only when it runs.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask.cli import FlaskGroup, ScriptInfo

from . import create_app
from .commands import COMMANDS, load


class SurveykitGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            return load(cmd_name)
        command = super().get_command(ctx, cmd_name)
        if cmd_name == "run" and command is not None:
            return _announcing(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS:
                rows.append((name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)))
            elif not self.commands[name].hidden:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _announce_setup() -> None:
    """On a database with no account, print the one-time link that creates the first admin."""
    from sqlalchemy.exc import SQLAlchemyError

    from .auth.commands import print_setup_link

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        try:
            print_setup_link()
        except SQLAlchemyError:
            click.echo("surveykit: the database is not ready: run `surveykit db upgrade` first.", err=True)


def _announcing(run: click.Command) -> click.Command:
    """Return Flask's `run` that first prints the set-up link when there is no account yet."""

    def callback(**kwargs: Any) -> Any:
        # The reloader runs this again in its child (WERKZEUG_RUN_MAIN): one link is enough.
        if not os.environ.get("WERKZEUG_RUN_MAIN"):
            _announce_setup()
        return click.get_current_context().invoke(run.callback, **kwargs)  # type: ignore[arg-type]

    return click.Command(run.name, params=run.params, callback=callback, help=run.help,
                         short_help=run.short_help)


cli = SurveykitGroup(create_app=create_app, load_dotenv=False, set_debug_flag=False,
                     help="surveykit: survey design, anonymous collection and qualitative coding.")


def main() -> None:
    """Run the `surveykit` command."""
    cli.main(prog_name="surveykit")
