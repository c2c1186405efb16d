"""Every setting surveykit reads, with its default and a line of help (README's table is made from this)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("SURVEYKIT_DATABASE_URL", "", "SQLAlchemy URL of the database; empty means SQLite at "
            "instance/surveykit.sqlite3. PostgreSQL: postgresql+psycopg://user@host/db"),
    Setting("SURVEYKIT_SECRET_KEY", "", "Key that signs session cookies and CSRF tokens; empty means a random "
            "key kept in instance/secret_key (created on first start)"),
    Setting("SURVEYKIT_INSTRUMENTS_DIR", "instruments", "Folder of YAML instruments (relative to the "
            "working directory)"),
    Setting("SURVEYKIT_BASE_URL", "http://127.0.0.1:5000", "Public address used to build links in e-mails; "
            "never taken from the request's Host header"),
    Setting("SURVEYKIT_MIN_CELL", 5, "Counts below this are shown as '<k' in rate pages and shared reports "
            "(export --shared; the team's own exports are exact)", int),
    Setting("SURVEYKIT_DRAFT_DAYS", 7, "Days an unfinished answer sheet is kept before it is deleted", int),
    Setting("SURVEYKIT_MIX_BATCH", 10, "Invitation mode: finished answers wait, sealed, until this many can be "
            "stored together in shuffled order (all are stored at close); 1 turns the mixing off", int),
    Setting("SURVEYKIT_SESSION_HOURS", 8, "Hours an investigator stays logged in without activity", int),
    Setting("SURVEYKIT_INVITE_HOURS", 72, "Hours an account's set-password link (sent when an admin invites "
            "someone) stays valid; it works once", int),
    Setting("SURVEYKIT_MAX_REQUEST_MB", 10, "Largest request body accepted, in megabytes (a form or an uploaded "
            "roster, codebook or answer file); a larger one gets a 413 page and nothing is saved", int),
    Setting("SURVEYKIT_TRUSTED_PROXIES", 0, "Reverse proxies in front of the app whose X-Forwarded-For the log-in "
            "throttle trusts for the client address (Werkzeug's ProxyFix); 0 uses the connecting address", int),
    Setting("SURVEYKIT_SMTP_HOST", "127.0.0.1", "SMTP server for invitations and reminders"),
    Setting("SURVEYKIT_SMTP_PORT", 25, "SMTP port", int),
    Setting("SURVEYKIT_SMTP_SECURITY", "none", "none, starttls or ssl"),
    Setting("SURVEYKIT_SMTP_USER", "", "SMTP user name; empty means no login"),
    Setting("SURVEYKIT_SMTP_PASSWORD", "", "SMTP password"),
    Setting("SURVEYKIT_MAIL_FROM", "surveykit@localhost", "Sender address of invitations and reminders"),
    Setting("SURVEYKIT_MAIL_RATE", 5.0, "Largest number of e-mails sent per second", float),
    Setting("SURVEYKIT_ASSIST_PRECISION", 0.9, "Precision a code's suggestions must have reached on the coded "
            "answers (Wilson lower bound) before the coding screen shows them; a code below it stays silent", float),
    Setting("SURVEYKIT_ASSIST_BACKEND", "auto", "Text representation of the coding assistant (suggestions, "
            "similar answers, candidate themes): tfidf, embeddings "
            "(needs pip install 'surveykit[embeddings]') or auto (embeddings when installed, else tfidf)"),
    Setting("SURVEYKIT_BROKER_URL", "", "Celery broker for background jobs (assistant fits, invitation sending, "
            "scheduled reminders), e.g. redis://127.0.0.1:6379/0, run by 'surveykit worker'; empty runs them in a "
            "thread of the web process"),
)


def _convert(setting: Setting, raw: str) -> Any:
    if setting.kind is str:
        return raw
    try:
        return setting.kind(raw)
    except ValueError:
        raise SystemExit(f"setting {setting.name}: '{raw}' is not a valid {setting.kind.__name__}") from None


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return every setting's value: the environment's when set, else the default."""
    env = os.environ if environ is None else environ
    return {s.name: _convert(s, env[s.name]) if s.name in env else s.default for s in SETTINGS}


def markdown_table() -> str:
    """Return the settings as the Markdown table the README carries."""
    rows = ["| Setting | Default | What it does |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default != "" else "(empty)"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)
