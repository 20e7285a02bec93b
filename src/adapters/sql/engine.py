"""Engines for SQLite (the embedded default) and PostgreSQL (psycopg 3).

SQLite: WAL, ``synchronous=NORMAL``, foreign keys on, a busy timeout, and every
read-write transaction opened with ``BEGIN IMMEDIATE``, so writers queue for the one write
lock instead of deadlocking when two of them try to upgrade a read lock (SQLAlchemy's
documented pysqlite recipe: the driver's own BEGIN is switched off at connect). A
connection carrying the ``READ_ONLY`` execution option begins with a plain (deferred)
``BEGIN`` instead: in WAL mode such a reader neither waits for nor blocks the writer.

PostgreSQL: a pool of ``pool_size`` connections plus as many overflow ones, not pre-pinged
(a ping is one more round trip at every checkout). A connection the server dropped fails
its first statement; SQLAlchemy recognises the disconnect and invalidates the whole pool,
so that one unit of work ends in DependencyUnavailable (nothing was written) and the
next one gets a fresh connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from core.shared.errors import DependencyUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 10
# Execution option (on a Connection, before it begins) that makes a SQLite transaction a
# deferred reader; set by read-only units of work.
READ_ONLY = "gigcore_read_only"


def open_engine(url: str, *, pool_size: int = 10) -> Iterator[Engine]:
    """Create the engine, yield it, dispose of its pool on exit (a dependency-injector
    ``Resource``). Connects lazily: nothing touches the database until first use."""
    engine = build_engine(url, pool_size=pool_size)
    try:
        yield engine
    finally:
        engine.dispose()


def build_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for a ``sqlite:///path`` or ``postgresql://`` URL; the caller disposes
    of it. ``postgresql://`` (no driver) means psycopg 3."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, pool_size)
    if backend == "postgresql":
        return _postgres_engine(parsed, pool_size)
    raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}")


def ping(engine: Engine) -> None:
    """Answer a trivial query or raise DependencyUnavailable("database").

    Runs outside any transaction, so on SQLite it does not queue for the write lock."""
    # The raw cursor's errors are the driver's own; SQLAlchemy wraps only the checkout.
    driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error
    try:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            raw.close()
    except (sa_exc.SQLAlchemyError, driver_error) as error:
        raise DependencyUnavailable("database") from error


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def _sqlite_engine(url: URL, pool_size: int) -> Engine:
    options: dict[str, Any] = {}
    if _is_memory(url):
        # One shared connection, or every checkout would see its own empty database.
        # Single-threaded use only (tests, demos).
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        assert url.database is not None
        if not url.database.startswith("file:"):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        options = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": POOL_TIMEOUT_S}
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The driver must not open transactions by itself; _sqlite_on_begin does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _postgres_engine(url: URL, pool_size: int) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if "application_name" not in url.query:
        connect_args["application_name"] = "gigcore"
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args=connect_args,
    )
