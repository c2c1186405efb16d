"""`surveykit db`: database migrations, and scrubbing the history of deleted rows."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .. import db as database

group = AppGroup("db", help="Manage the database.")


@group.command("upgrade")
def upgrade() -> None:
    """Apply every migration (safe to run again)."""
    url = current_app.config["DATABASE_URL"]
    database.upgrade(url)
    click.echo(f"database is up to date ({database.engine().url.render_as_string(hide_password=True)})")


@group.command("scrub")
def scrub() -> None:
    """Rewrite the database so deleted rows leave no copy (SQLite: VACUUM and an emptied WAL)."""
    from ..scrub import scrub_history

    warning = scrub_history(database.engine())
    if warning:
        raise click.ClickException(warning)
    click.echo("database scrubbed: deleted rows leave no copy in the file, its WAL or its free pages")
