from .harness import PostgresAdapter
from .suites.balance_snapshots import BalanceSnapshotsContract


class TestPostgresBalanceSnapshots(PostgresAdapter, BalanceSnapshotsContract):
    pass
