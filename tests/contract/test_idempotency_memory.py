from .harness import MemoryAdapter
from .suites.idempotency import IdempotencyStoreContract


class TestMemoryIdempotencyStore(MemoryAdapter, IdempotencyStoreContract):
    pass
