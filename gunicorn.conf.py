"""gunicorn settings, read from the directory gunicorn starts in: stop each worker's background threads as it exits."""

from typing import Any

from surveyapp import shutdown


def worker_exit(server: Any, worker: Any) -> None:
    """Stop the exiting worker's app threads, so the worker ends at once instead of finishing a queued fit."""
    shutdown(worker.wsgi)
