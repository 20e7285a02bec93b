from .harness import SqliteAdapter
from .suites.escrow_sql import EscrowSqlContract


class TestSqliteEscrowSql(SqliteAdapter, EscrowSqlContract):
    pass
