"""gunicorn config for the log-in harden test: each worker logs every argon2 verify (account or dummy) to a file.

The throttle's own counters cannot show a throttle that checks more guesses than it counts; this log can. One
short line per verify, appended (O_APPEND keeps lines from several workers and threads whole).
"""

from __future__ import annotations

import os
from typing import Any

LOG_VARIABLE = "AUTH_HARDEN_VERIFY_LOG"


class CountingHasher:
    """The app's argon2 hasher, appending "account" or "dummy" to the log on each verify."""

    def __init__(self, real: Any, models: Any, path: str) -> None:
        self.real, self.models, self.path = real, models, path

    def verify(self, hashed: str, password: str) -> bool:
        kind = "dummy" if hashed == self.models._dummy_hash() else "account"
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(kind + "\n")
        return bool(self.real.verify(hashed, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def post_worker_init(worker: Any) -> None:
    """Wrap the hasher in this worker (gunicorn server hook)."""
    from surveyapp.auth import models

    models._hasher = CountingHasher(models._hasher, models, os.environ[LOG_VARIABLE])
