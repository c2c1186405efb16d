"""The database: one engine per app, one session per request, migrations run with Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app, g, request
from sqlalchemy import Connection, Engine, Executable, Select, create_engine, event
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
    app.extensions["surveykit.engines"] = (engine, readers)
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


class Handle(Protocol):
    """What the respondent's pages ask of the database: an ORM :class:`Session` or a :class:`Plain` connection."""

    def connection(self) -> Connection: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def scalar(self, statement: Executable, params: Any = None) -> Any: ...

    def get_bind(self) -> Any: ...


class Plain:
    """A request's database connection without the ORM: :class:`Handle`'s methods on one pooled connection.

    An open survey's pages run a few prebuilt statements and never load an ORM object; a Session's transaction
    bookkeeping costs them more than the statements (see bench/respond.py), so they use this instead.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def commit(self) -> None:
        if self._connection is not None:
            self._connection.commit()

    def rollback(self) -> None:
        if self._connection is not None:
            self._connection.rollback()

    def scalar(self, statement: Executable, params: Any = None) -> Any:
        return self.connection().scalar(statement, params)

    def get_bind(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Roll back what was not committed and give the connection back to the pool."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Prepared:
    """A prebuilt SELECT run on the driver's cursor: the SQL SQLAlchemy compiles for the dialect, its parameter and
    result conversions, without its work per execution (cache key, execution context, result object).

    For the one read every respondent request makes (see surveyapp/published.py): on its own connection that work
    cost more than the query. Reads only: SQLAlchemy does not see the statement, so it must not begin or end anything.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[Any, tuple[str, list[str] | None, dict[str, Any], list[Any]]] = {}

    def _for(self, dialect: Any) -> tuple[str, list[str] | None, dict[str, Any], list[Any]]:
        found = self._compiled.get(dialect)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                     for name, bind in compiled.binds.items()}
            results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in self.statement.selected_columns]
            found = (compiled.string, list(compiled.positiontup or ()) if compiled.positional else None,
                     {k: v for k, v in binds.items() if v is not None}, results)
            self._compiled[dialect] = found
        return found

    def first(self, connection: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """Return the first row for *params* (converted as SQLAlchemy converts it), or None."""
        sql, order, binds, results = self._for(connection.dialect)
        values = {k: (binds[k](v) if k in binds else v) for k, v in params.items()}
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, [values[k] for k in order] if order is not None else values)
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return tuple(v if convert is None or v is None else convert(v) for convert, v in zip(results, row, strict=True))


def request_db() -> Handle:
    """Return the request's database: a :class:`Plain` connection opened on first use (a GET's without a transaction,
    as :func:`read_only` serves it), or the ORM session once :func:`use_orm` was called; closed at teardown."""
    found: Handle | None = g.get("db_handle")
    if found is None:
        reads_only = request.method == "GET"
        found = g.db_handle = Plain(current_app.extensions["surveykit.engines"][1 if reads_only else 0])
    return found


def use_orm() -> None:
    """Serve the rest of the request (see :func:`request_db`) through the ORM session, the plain connection closed
    first (on SQLite two connections of one request must not both hold the database)."""
    found = g.get("db_handle")
    if not isinstance(found, Session):
        if isinstance(found, Plain):
            found.close()
        read_only(request.method == "GET")
        g.db_handle = get_session()


def _close_session(_exc: BaseException | None) -> None:
    handle = g.pop("db_handle", None)
    if isinstance(handle, Plain):
        handle.close()
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
