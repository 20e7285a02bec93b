"""Per-adapter fixtures, mixed into the suites by the tiny ``Test…`` subclasses.

Each adapter provides ``make_uow(dry_run=False)`` (a fresh unit of work over one shared
store) and ``probe``, a read-only look at state no port reads back (the outbox and the
snapshot lines).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import pytest
from sqlalchemy import Engine, text

from adapters.memory import MemoryStore, MemoryUnitOfWork
from adapters.sql.column_types import UtcDateTime
from adapters.sql.engine import build_engine
from adapters.sql.migrations import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWork
from core.shared.money import Currency, Money

from .builders import AUDIT_CHAINS


def migrated(url: str, *, pool_size: int = 10) -> Engine:
    engine = build_engine(url, pool_size=pool_size)
    upgrade(engine)
    return engine


class MakeUow(Protocol):
    def __call__(self, *, dry_run: bool = False) -> Any: ...


class WaitUntilBlocked(Protocol):
    def __call__(self, holder: Any) -> None:
        """Return once another transaction waits for a lock the open unit of work
        ``holder`` holds. Where a transaction waits before it reads anything (the
        in-memory store's lock, SQLite's write lock from BEGIN IMMEDIATE), the order is
        given anyway and this returns at once."""
        ...


BLOCKED_TIMEOUT_S = 30  # a waiter that never shows up is a failure, not a hang


def _not_needed(holder: Any) -> None:
    return None


class Probe(Protocol):
    def outbox(self) -> list[tuple[str, str, str]]:
        """(name, event_id, aggregate_id) of every stored event, in insertion order."""
        ...

    def snapshot(self, snapshot_id: str) -> dict[str, tuple[datetime, Money]]:
        """account_id -> (taken_at, balance) for one snapshot."""
        ...


class MemoryProbe:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def outbox(self) -> list[tuple[str, str, str]]:
        return [(type(row.event).name, row.event.event_id, row.event.aggregate_id) for row in self._store.outbox]

    def snapshot(self, snapshot_id: str) -> dict[str, tuple[datetime, Money]]:
        return {line.account_id: (at, line.balance) for sid, at, line in self._store.snapshots if sid == snapshot_id}


class SqlProbe:
    """Reads with plain SQL, as an operator would; not through the adapter."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def outbox(self) -> list[tuple[str, str, str]]:
        with self._engine.connect() as connection:
            rows = connection.execute(text("SELECT name, event_id, aggregate_id FROM outbox ORDER BY id"))
            return [(r.name, r.event_id, r.aggregate_id) for r in rows]

    def snapshot(self, snapshot_id: str) -> dict[str, tuple[datetime, Money]]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT account_id, taken_at, balance_minor, currency FROM balance_snapshots "
                    "WHERE snapshot_id = :sid"
                ).columns(taken_at=UtcDateTime()),
                {"sid": snapshot_id},
            )
            return {r.account_id: (r.taken_at, Money(r.balance_minor, Currency(r.currency))) for r in rows}


class MemoryAdapter:
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore(audit_chains=AUDIT_CHAINS)

    @pytest.fixture
    def make_uow(self, store: MemoryStore) -> MakeUow:
        return partial(MemoryUnitOfWork, store)

    @pytest.fixture
    def probe(self, store: MemoryStore) -> Probe:
        return MemoryProbe(store)

    @pytest.fixture
    def wait_until_blocked(self) -> WaitUntilBlocked:
        return _not_needed


class _SqlAdapter:
    @pytest.fixture
    def make_uow(self, engine: Engine) -> MakeUow:
        return partial(SqlUnitOfWork, engine, audit_chains=AUDIT_CHAINS)

    @pytest.fixture
    def probe(self, engine: Engine) -> Probe:
        return SqlProbe(engine)

    @pytest.fixture
    def wait_until_blocked(self, engine: Engine) -> WaitUntilBlocked:
        return _not_needed


class SqliteAdapter(_SqlAdapter):
    @pytest.fixture
    def engine(self, sqlite_url: str) -> Iterator[Engine]:
        engine = migrated(sqlite_url)
        yield engine
        engine.dispose()


@pytest.mark.postgres
class PostgresAdapter(_SqlAdapter):
    @pytest.fixture
    def engine(self, postgres_url: str) -> Iterator[Engine]:
        engine = migrated(postgres_url)
        yield engine
        engine.dispose()

    @pytest.fixture
    def wait_until_blocked(self, engine: Engine) -> WaitUntilBlocked:
        """PostgreSQL takes row locks statement by statement, so a test that wants a
        transaction to wait behind another must see it waiting before it goes on."""

        def wait(holder: Any) -> None:
            pid = holder.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
            deadline = time.monotonic() + BLOCKED_TIMEOUT_S
            with engine.connect() as connection:
                while connection.execute(waiting, {"pid": pid}).scalar_one() == 0:
                    connection.rollback()  # statistics views are read once per transaction
                    assert time.monotonic() < deadline, "no transaction came to wait for the lock"
                    time.sleep(0.005)

        return wait
