from .harness import PostgresAdapter
from .suites.escrow_sql import EscrowSqlContract


class TestPostgresEscrowSql(PostgresAdapter, EscrowSqlContract):
    pass
