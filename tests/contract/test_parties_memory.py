from .harness import MemoryAdapter
from .suites.parties import PartiesContract


class TestMemoryParties(MemoryAdapter, PartiesContract):
    pass
