"""gunicorn settings, read from the directory gunicorn starts in: stop each worker's background threads as it exits,
and send no Server banner."""

from typing import Any

from gunicorn.http import wsgi

from surveyapp import shutdown

_default_headers = wsgi.Response.default_headers


def _without_banner(self: Any) -> list[str]:
    # gunicorn writes "Server: gunicorn" itself and has no setting to drop it; naming the server and its
    # version only helps an attacker pick an exploit. Read here, in the master, so every forked worker has it.
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


wsgi.Response.default_headers = _without_banner  # type: ignore[method-assign]


def worker_exit(server: Any, worker: Any) -> None:
    """Stop the exiting worker's app threads, so the worker ends at once instead of finishing a queued fit."""
    shutdown(worker.wsgi)
