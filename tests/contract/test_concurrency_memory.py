from .harness import MemoryAdapter
from .suites.concurrency import ConcurrencyContract


class TestMemoryConcurrency(MemoryAdapter, ConcurrencyContract):
    pass
