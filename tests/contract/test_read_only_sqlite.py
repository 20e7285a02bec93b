import sqlite3

import pytest
from sqlalchemy import Engine

from adapters.sql.unit_of_work import SqlUnitOfWork

from .builders import AUDIT_CHAINS
from .harness import SqliteAdapter
from .suites.read_only import ReadOnlyUnitOfWorkContract


class TestSqliteReadOnlyUnitOfWork(SqliteAdapter, ReadOnlyUnitOfWorkContract):
    def test_a_read_only_unit_of_work_does_not_take_the_write_lock(self, engine: Engine) -> None:
        database = engine.url.database
        assert database is not None
        with SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS, read_only=True) as uow:
            assert not uow.users.any_exist()
            other = sqlite3.connect(database, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # would raise "database is locked" under BEGIN IMMEDIATE
                other.execute("ROLLBACK")
            finally:
                other.close()

    def test_a_read_write_unit_of_work_still_takes_the_write_lock_at_its_start(self, engine: Engine) -> None:
        database = engine.url.database
        assert database is not None
        with SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS, read_only=True) as uow:
            uow.users.any_exist()  # its pooled connection serves the writer next
        with SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS):
            other = sqlite3.connect(database, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
