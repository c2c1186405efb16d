"""Scrubbing the database's history at close, so erased addresses and deleted drafts leave no readable copy.

SQLite runs with ``secure_delete`` on every connection (deleted content and freed pages are overwritten with
zeros); at close, VACUUM rewrites the file and ``wal_checkpoint(TRUNCATE)`` copies the WAL back and empties it,
so neither the WAL nor the freelist keeps an old page. PostgreSQL's dead tuples go with VACUUM FULL of the
tables a survey's answering touched; its WAL segments, WAL archives and backups are outside the application's
reach and still hold history until they are recycled (README, "Anonymity": an operator matter).
"""

from __future__ import annotations

import time

from sqlalchemy import Engine

# Tables whose rows answering, reminding and closing touch (the order does not matter).
TOUCHED = ("invitations", "mail_deliveries", "drafts", "parked_answers", "responses")


def scrub_history(engine: Engine, tries: int = 20) -> str:
    """Rewrite the database so deleted rows leave no copy; return a warning for the operator, or ""."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            for table in TOUCHED:
                conn.exec_driver_sql(f'VACUUM FULL "{table}"')
            return ""
        if engine.dialect.name != "sqlite":
            return ""
        conn.exec_driver_sql("VACUUM")
        for _ in range(tries):
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if not busy:
                return ""
            time.sleep(0.25)  # a reader still holds an old snapshot; it ends with its request
    return ("the database's WAL could not be emptied while other processes read it; stop the server and run "
            "`surveykit db scrub` so erased data leaves no copy")
