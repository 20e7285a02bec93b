from .harness import MemoryAdapter
from .suites.payouts import PayoutsContract


class TestMemoryPayouts(MemoryAdapter, PayoutsContract):
    pass
