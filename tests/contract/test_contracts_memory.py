from .harness import MemoryAdapter
from .suites.contracts import ContractsContract


class TestMemoryContracts(MemoryAdapter, ContractsContract):
    pass
