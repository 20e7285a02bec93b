"""The SQL adapter's error table, without a database: driver errors in, port errors out."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc

from adapters.sql.errors import StorageFault, translate, translated
from core.shared.errors import ConcurrentUpdate, DependencyUnavailable


def _sqlite(message: str, code: int, kind: type[sqlite3.Error] = sqlite3.OperationalError) -> sa_exc.StatementError:
    orig = kind(message)
    orig.sqlite_errorcode = code  # set by the driver in real life
    return sa_exc.DBAPIError.instance("SELECT 1", {}, orig, sqlite3.Error)


def _pg(orig: Exception) -> sa_exc.StatementError:
    return sa_exc.DBAPIError.instance("SELECT 1", {}, orig, psycopg.Error)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_sqlite("database is locked", 5), DependencyUnavailable),
        (_sqlite("database table is locked", 6), DependencyUnavailable),
        (_sqlite("unable to open database file", 14), DependencyUnavailable),
        (_sqlite("disk I/O error", 10 | (3 << 8)), DependencyUnavailable),  # an extended IOERR code
        (_sqlite("database or disk is full", 13), DependencyUnavailable),
        (_sqlite("no such table: accounts", 1), StorageFault),
        (_sqlite("CHECK constraint failed", 275, sqlite3.IntegrityError), StorageFault),
        (_pg(pg_errors.SerializationFailure("could not serialize access")), ConcurrentUpdate),
        (_pg(pg_errors.DeadlockDetected("deadlock detected")), ConcurrentUpdate),
        (_pg(psycopg.OperationalError("connection refused")), DependencyUnavailable),
        (_pg(pg_errors.AdminShutdown("terminating connection")), DependencyUnavailable),
        (_pg(pg_errors.LockNotAvailable("lock timeout")), DependencyUnavailable),
        (_pg(pg_errors.UniqueViolation("duplicate key")), StorageFault),
        (_pg(pg_errors.UndefinedTable("relation does not exist")), StorageFault),
        (sa_exc.TimeoutError("QueuePool limit reached"), DependencyUnavailable),
        (sa_exc.StatementError("bad parameter", "SELECT 1", {}, ValueError("naive datetime")), StorageFault),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, type) else str(value).splitlines()[0][:40],
)
def test_driver_errors_become_port_errors(error: Exception, expected: type[Exception]) -> None:
    assert type(translate(error)) is expected


def test_a_translated_method_chains_the_driver_error() -> None:
    original = _sqlite("database is locked", 5)

    @translated
    def port_method() -> None:
        raise original

    with pytest.raises(DependencyUnavailable) as raised:
        port_method()
    assert raised.value.__cause__ is original
