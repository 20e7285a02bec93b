from .harness import SqliteAdapter
from .suites.payouts import PayoutsContract


class TestSqlitePayouts(SqliteAdapter, PayoutsContract):
    pass
