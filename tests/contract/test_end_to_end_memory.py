from .harness import MemoryAdapter
from .suites.end_to_end import UseCasesContract


class TestMemoryUseCases(MemoryAdapter, UseCasesContract):
    pass
