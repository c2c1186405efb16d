"""The database: one engine per app, one session per request, migrations run with Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # Alembic (~10 MB with its dialects and Mako) loads only when migrations run
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted rows and freed pages are overwritten with zeros, so the file keeps no copy of erased data.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at each commit: a crash of the app (kill -9) loses nothing, and
    # only a power cut or an OS crash may lose the last commits before it; FULL would sync the disk on every answer.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine for *url*, with foreign keys and a busy timeout on SQLite."""
    # A SQLite file cannot drop a connection, so it needs no ping; a database server can restart under the pool.
    engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def init_app(app: Flask) -> None:
    """Bind an engine and a session factory to *app*; close the request's session on teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["surveykit.engine"] = engine
    app.extensions["surveykit.sessions"] = sessionmaker(engine, expire_on_commit=False)
    # Pages that only read (a respondent's GETs) need no transaction: on PostgreSQL each statement of a transaction in
    # READ COMMITTED sees the rows committed when it starts, as it does without one, so dropping the BEGIN and the
    # ROLLBACK changes nothing they read and saves two round trips. SQLite's driver opens no transaction for reads.
    readers = engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
    app.extensions["surveykit.read_sessions"] = sessionmaker(readers, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["surveykit.engine"]  # type: ignore[no-any-return]


def new_session() -> Session:
    """Open a session outside a request (CLI work, background jobs)."""
    return current_app.extensions["surveykit.sessions"]()  # type: ignore[no-any-return]


def get_session() -> Session:
    """Return the session of the current request or command, opening it on first use."""
    if "db_session" not in g:
        g.db_session = new_session()
    return g.db_session  # type: ignore[no-any-return]


def read_only(reads_only: bool = True) -> None:
    """Serve the rest of this request's reads without a transaction (see init_app) when *reads_only* (a view that
    only reads); call it before anything opens the request's session."""
    if reads_only and "db_session" not in g:
        g.db_session = current_app.extensions["surveykit.read_sessions"]()


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at the migrations shipped in the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Apply every migration to the database at *url*."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
