"""The PostgreSQL engine: URL mapping, an unreachable server, a connection lost in the
middle of a transaction, and the translation of real server errors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from adapters.sql.engine import build_engine, ping
from adapters.sql.errors import translate
from adapters.sql.migrations import upgrade
from adapters.sql.unit_of_work import SqlUnitOfWork
from core.shared.errors import ConcurrentUpdate, DependencyUnavailable

from .builders import a_token, a_user
from .harness import migrated

# Nothing listens on port 1; the connection is refused at once.
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/test"


def test_a_plain_postgresql_url_means_psycopg_3() -> None:
    engine = build_engine(UNREACHABLE, pool_size=3)
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_an_unreachable_server_is_an_unavailable_database() -> None:
    engine = build_engine(UNREACHABLE)
    try:
        with pytest.raises(DependencyUnavailable):
            ping(engine)
        with pytest.raises(DependencyUnavailable), SqlUnitOfWork(engine, audit_chains=1):
            pass
        with pytest.raises(DependencyUnavailable):
            upgrade(engine)
    finally:
        engine.dispose()


@pytest.mark.postgres
class TestPostgresServer:
    @pytest.fixture
    def engine(self, postgres_url: str) -> Iterator[Engine]:
        engine = migrated(postgres_url)
        yield engine
        engine.dispose()

    def test_a_connection_lost_mid_transaction_is_an_unavailable_database(
        self, engine: Engine, postgres_admin: Engine
    ) -> None:
        with SqlUnitOfWork(engine, audit_chains=1) as uow:
            uow.users.add(a_user())
            pid = uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with postgres_admin.begin() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DependencyUnavailable):
                uow.users.add(a_user())
        # Leaving the block rolled back quietly; the pool hands out a working connection.
        with SqlUnitOfWork(engine, audit_chains=1) as uow:
            assert not uow.users.user_exists("usr_none")

    @pytest.mark.parametrize(
        ("sqlstate", "expected"),
        [
            ("serialization_failure", ConcurrentUpdate),
            ("deadlock_detected", ConcurrentUpdate),
            ("lock_not_available", DependencyUnavailable),
            ("admin_shutdown", DependencyUnavailable),
            ("too_many_connections", DependencyUnavailable),
        ],
    )
    def test_server_errors_translate_to_port_errors(self, engine: Engine, sqlstate: str, expected: type) -> None:
        raise_it = f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{sqlstate}'; END $$"
        with pytest.raises(sa_exc.DBAPIError) as raised, engine.connect() as connection:
            connection.execute(text(raise_it))
        assert isinstance(translate(raised.value), expected)


@pytest.mark.postgres
class TestPostgresPoolRecovery:
    """The pool is not pre-pinged: a connection the server dropped fails its first
    statement, SQLAlchemy invalidates the whole pool, and the next unit of work gets a
    fresh connection."""

    POOL_SIZE = 3

    @pytest.fixture
    def engine(self, postgres_url: str) -> Iterator[Engine]:
        engine = migrated(postgres_url, pool_size=self.POOL_SIZE)
        yield engine
        engine.dispose()

    def _fill_the_pool(self, engine: Engine) -> list[int]:
        """Check out POOL_SIZE connections at once, so that the pool holds as many idle ones;
        returns their server process ids."""
        with contextlib.ExitStack() as stack:
            uows = [stack.enter_context(SqlUnitOfWork(engine, audit_chains=1)) for _ in range(self.POOL_SIZE)]
            pids = [int(uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()) for uow in uows]
        assert engine.pool.checkedin() == self.POOL_SIZE  # type: ignore[attr-defined]
        return pids

    @staticmethod
    def _terminate(admin: Engine, pids: list[int]) -> None:
        listed = {"pids": pids}
        with admin.begin() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"), listed
            )
        alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(CAST(:pids AS int[]))")
        for _ in range(1000):  # until the server has reaped them (a bounded wait; nothing timed is asserted)
            with admin.connect() as connection:
                if connection.execute(alive, listed).scalar_one() == 0:
                    return
            time.sleep(0.01)
        pytest.fail("the terminated server processes did not go away")

    def test_after_the_server_drops_every_pooled_connection_one_unit_of_work_fails_whole_and_the_next_succeed(
        self, engine: Engine, postgres_admin: Engine
    ) -> None:
        self._terminate(postgres_admin, self._fill_the_pool(engine))
        user = a_user()
        token = a_token(user)

        try:
            with SqlUnitOfWork(engine, audit_chains=1) as uow:
                uow.users.add(user)
                uow.tokens.add(token)
                uow.commit()
            stored = True
        except DependencyUnavailable:
            stored = False

        # Every later unit of work gets a fresh connection, not another dead pooled one.
        later = [a_user() for _ in range(self.POOL_SIZE + 1)]
        for other in later:
            with SqlUnitOfWork(engine, audit_chains=1) as uow:
                uow.users.add(other)
                uow.commit()
        with SqlUnitOfWork(engine, audit_chains=1, read_only=True) as uow:
            assert all(uow.users.user_exists(other.id) for other in later)
            # All or nothing: a failed unit of work left neither its user nor its token.
            assert uow.users.user_exists(user.id) is stored
            assert (uow.tokens.by_hash(token.token_hash) is not None) is stored
