from .harness import MemoryAdapter
from .suites.journal import JournalContract


class TestMemoryJournal(MemoryAdapter, JournalContract):
    pass
