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


def test_insert_or_replace_cannot_rewrite_the_journal(sqlite_url: str) -> None:
    """SQLite's REPLACE deletes the conflicting row without firing DELETE triggers; the
    migration guards the journal against it."""
    from core.ledger.domain import AccountKind, apply_entry

    from .builders import EUR, T0, a_wallet, an_entry

    engine = build_engine(sqlite_url)
    try:
        upgrade(engine)
        wallet = a_wallet()
        with SqlUnitOfWork(engine, audit_chains=1) as uow:
            uow.accounts.add(wallet)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            entry = an_entry((wallet.id, 10), (clearing.id, -10))
            uow.journal.append(entry, apply_entry(entry, {wallet.id: wallet, clearing.id: clearing}))
            uow.accounts.save_balances([wallet])
            uow.commit()
        path = sqlite_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT OR REPLACE INTO journal_entries (id, kind, occurred_at, initiated_by, memo) "
                "SELECT id, kind, occurred_at, initiated_by, 'rewritten' FROM journal_entries"
            )
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(
                    "INSERT OR REPLACE INTO postings (id, entry_id, account_id, amount_minor, currency, "
                    "balance_after_minor) SELECT id, entry_id, account_id, amount_minor + 1, currency, "
                    "balance_after_minor FROM postings"
                )
            memos = {row[0] for row in db.execute("SELECT memo FROM journal_entries")}
            amounts = sorted(row[0] for row in db.execute("SELECT amount_minor FROM postings"))
        assert memos == {""} and amounts == [-10, 10]
    finally:
        engine.dispose()
