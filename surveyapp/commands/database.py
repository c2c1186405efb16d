"""`surveykit db`: database migrations."""

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
