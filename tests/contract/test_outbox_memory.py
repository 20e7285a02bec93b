from .harness import MemoryAdapter
from .suites.outbox import OutboxContract


class TestMemoryOutbox(MemoryAdapter, OutboxContract):
    pass
