from .harness import SqliteAdapter
from .suites.payouts_made import PayoutsMadeContract


class TestSqlitePayoutsMade(SqliteAdapter, PayoutsMadeContract):
    pass
