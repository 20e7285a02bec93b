from .harness import MemoryAdapter
from .suites.payouts_made import PayoutsMadeContract


class TestMemoryPayoutsMade(MemoryAdapter, PayoutsMadeContract):
    pass
