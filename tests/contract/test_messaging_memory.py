from .harness import MemoryAdapter
from .suites.messaging import MessagingContract


class TestMemoryMessaging(MemoryAdapter, MessagingContract):
    pass
