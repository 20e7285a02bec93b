from .harness import MemoryAdapter
from .suites.timers import TimersContract


class TestMemoryTimers(MemoryAdapter, TimersContract):
    pass
