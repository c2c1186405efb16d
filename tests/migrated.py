"""Migrated databases for the tests: Alembic runs once per test process and each new database gets its result.

Running the migrations costs 0.1-0.3 s and about 350 test setups need them. SQLite: the first call migrates a
template file with Alembic and every new database file is a copy of it. PostgreSQL: Alembic renders the
migrations as one SQL script (its offline mode) and each empty schema runs it. A database that already has
tables goes through Alembic itself, as `surveykit db upgrade` would; tests/test_migrations.py checks that both
shortcuts give the schema Alembic gives.
"""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
from functools import cache
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from surveyapp import db as database


def migrate(url: str) -> None:
    """Bring the database at *url* to the head revision, from the template when it is new and empty."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        target = Path(parsed.database)
        if target.parent.is_dir() and (not target.exists() or target.stat().st_size == 0):
            shutil.copyfile(sqlite_template(), target)
            return
    elif parsed.get_backend_name() == "postgresql" and _script_into_empty(url):
        return
    database.upgrade(url)


@cache
def sqlite_template() -> Path:
    """Return a SQLite file that Alembic has migrated to the head revision (made on first use)."""
    folder = Path(tempfile.mkdtemp(prefix="surveykit-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "migrated.sqlite3"
    database.upgrade(f"sqlite:///{path}")
    return path


@cache
def postgres_script() -> str:
    """Return every migration as the SQL script Alembic renders for PostgreSQL, with its own transaction."""
    out = io.StringIO()
    config = database.alembic_config("postgresql+psycopg://")
    config.output_buffer = out
    command.upgrade(config, "head", sql=True)
    return out.getvalue()


def _script_into_empty(url: str) -> bool:
    """Run the migration script on the PostgreSQL database at *url* if it has no tables; return whether it did."""
    engine = create_engine(url)
    try:
        # Autocommit: the script opens and commits its own transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if inspect(conn).get_table_names():
                return False
            conn.exec_driver_sql(postgres_script())
            return True
    finally:
        engine.dispose()
