import pytest
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

from adapters.sql.unit_of_work import SqlUnitOfWork

from .builders import AUDIT_CHAINS
from .harness import PostgresAdapter
from .suites.read_only import ReadOnlyUnitOfWorkContract


class TestPostgresReadOnlyUnitOfWork(PostgresAdapter, ReadOnlyUnitOfWorkContract):
    def test_the_server_refuses_a_write_that_bypasses_the_adapter(self, engine: Engine) -> None:
        """Defence in depth: the transaction itself is READ ONLY."""
        with (
            SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS, read_only=True) as uow,
            pytest.raises(sa_exc.DBAPIError) as raised,
        ):
            uow.connection.execute(text("UPDATE audit_chain_heads SET last_seq = last_seq WHERE false"))
        assert getattr(raised.value.orig, "sqlstate", None) == "25006"  # read_only_sql_transaction
