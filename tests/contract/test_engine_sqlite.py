"""The SQLite engine: pragmas, BEGIN IMMEDIATE, paths, and an unusable file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text

from adapters.sql.engine import SQLITE_BUSY_TIMEOUT_MS, build_engine, open_engine, ping
from adapters.sql.migrations import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWork
from core.shared.errors import DependencyUnavailable

from .builders import a_user


def test_each_connection_runs_in_wal_with_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = build_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    }


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gigcore.sqlite3"
    engine = build_engine(f"sqlite:///{path}")
    try:
        ping(engine)
    finally:
        engine.dispose()
    assert path.exists()


def test_a_unit_of_work_holds_the_write_lock_from_its_start(sqlite_url: str) -> None:
    engine = build_engine(sqlite_url)
    upgrade(engine)
    database = engine.url.database
    assert database is not None
    try:
        with SqlUnitOfWork(engine, audit_chains=1):  # no statement yet: BEGIN IMMEDIATE alone
            other = sqlite3.connect(database, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
                assert other.execute("SELECT count(*) FROM users").fetchone() == (0,)  # readers go on (WAL)
            finally:
                other.close()
    finally:
        engine.dispose()


def test_an_in_memory_database_works_for_one_thread() -> None:
    engine = build_engine("sqlite://")
    try:
        upgrade(engine)
        user = a_user()
        with SqlUnitOfWork(engine, audit_chains=1) as uow:
            uow.users.add(user)
            uow.commit()
        with SqlUnitOfWork(engine, audit_chains=1) as uow:
            assert uow.users.user_exists(user.id)
    finally:
        engine.dispose()


def test_a_file_that_cannot_be_opened_is_an_unavailable_database(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path}")  # a directory, not a database file
    try:
        with pytest.raises(DependencyUnavailable):
            ping(engine)
        with pytest.raises(DependencyUnavailable), SqlUnitOfWork(engine, audit_chains=1):
            pass
        with pytest.raises(DependencyUnavailable):
            upgrade(engine)
    finally:
        engine.dispose()


def test_the_engine_resource_closes_its_connections_on_shutdown(sqlite_url: str) -> None:
    resource = open_engine(sqlite_url)
    engine = next(resource)
    closed: list[object] = []
    event.listen(engine, "close", lambda dbapi_connection, _record: closed.append(dbapi_connection))
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert next(resource, None) is None  # the shutdown half of the resource
    assert len(closed) == 1
