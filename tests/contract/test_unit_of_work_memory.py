from .harness import MemoryAdapter
from .suites.unit_of_work import UnitOfWorkContract


class TestMemoryUnitOfWork(MemoryAdapter, UnitOfWorkContract):
    pass
