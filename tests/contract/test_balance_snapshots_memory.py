from .harness import MemoryAdapter
from .suites.balance_snapshots import BalanceSnapshotsContract


class TestMemoryBalanceSnapshots(MemoryAdapter, BalanceSnapshotsContract):
    pass
