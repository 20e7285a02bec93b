from .harness import SqliteAdapter
from .suites.balance_snapshots import BalanceSnapshotsContract


class TestSqliteBalanceSnapshots(SqliteAdapter, BalanceSnapshotsContract):
    pass
