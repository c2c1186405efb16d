"""`surveykit worker`: run the background jobs (``surveyapp.jobs``) the web processes queue on the broker."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--beat", is_flag=True, help="Also run the schedule (the due reminders every 10 minutes); "
              "give it to one worker only.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at once (1: in this process; more: that many child processes).")
@click.option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO",
              show_default=True)
@with_appcontext
def worker_command(beat: bool, concurrency: int, loglevel: str) -> None:
    """Run background jobs from SURVEYKIT_BROKER_URL until stopped (Ctrl-C, SIGTERM)."""
    from ..jobs import broker_url, work

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not broker_url(app):
        raise click.ClickException("SURVEYKIT_BROKER_URL is not set: without a broker the web process runs the "
                                   "jobs itself, and no worker is needed (e.g. SURVEYKIT_BROKER_URL="
                                   "redis://127.0.0.1:6379/0)")
    work(app, beat=beat, concurrency=concurrency, loglevel=loglevel)
