"""Driver errors -> port errors. Nothing raised by SQLAlchemy, psycopg or sqlite3
leaves a port method: the ports promise DependencyUnavailable and ConcurrentUpdate for
infrastructure failures, and the domain errors they name for conflicts they expect."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import exc as sa_exc

from core.shared.errors import ConcurrentUpdate, DependencyUnavailable

P = ParamSpec("P")
T = TypeVar("T")

DATABASE = "database"

# PostgreSQL SQLSTATEs (Appendix A of its manual).
_PG_RETRY = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")  # connection, resources, operator intervention, system
_PG_UNAVAILABLE = frozenset({"55P03"})  # lock_not_available (lock_timeout)

# SQLite primary result codes meaning "the file cannot be used right now", not "this
# statement is wrong": BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN,
# PROTOCOL, NOTADB.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26})


class StorageFault(RuntimeError):
    """The database refused a statement for a reason no retry will fix: a bug in the
    adapter, a schema that is not migrated, or a broken constraint. The driver error is
    chained as ``__cause__``."""


def translate(error: Exception) -> Exception:
    """The port-level error for a SQLAlchemy/driver error (returned, not raised)."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return DependencyUnavailable(DATABASE)
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return DependencyUnavailable(DATABASE)
        orig = error.orig
        sqlstate = getattr(orig, "sqlstate", None)
        if isinstance(sqlstate, str):
            if sqlstate in _PG_RETRY:
                return ConcurrentUpdate("a row this command touched")
            if sqlstate in _PG_UNAVAILABLE or sqlstate.startswith(_PG_UNAVAILABLE_CLASSES):
                return DependencyUnavailable(DATABASE)
        errorcode = getattr(orig, "sqlite_errorcode", None)
        if isinstance(errorcode, int) and errorcode & 0xFF in _SQLITE_UNAVAILABLE:
            return DependencyUnavailable(DATABASE)
        # psycopg raises these without a SQLSTATE when it cannot reach the server.
        unclassified = errorcode is None and sqlstate is None
        if unclassified and isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return DependencyUnavailable(DATABASE)
    if isinstance(error, sa_exc.DisconnectionError):
        return DependencyUnavailable(DATABASE)
    # The driver's first line only: SQLAlchemy's full text repeats the statement's
    # parameters, which may hold personal data. The whole error stays chained.
    detail = str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__]
    return StorageFault(f"the database refused a statement: {detail[0]}")


def translated(method: Callable[P, T]) -> Callable[P, T]:
    """Decorate a port method so that driver errors leave it as port errors."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except sa_exc.SQLAlchemyError as error:
            raise translate(error) from error

    return wrapper
