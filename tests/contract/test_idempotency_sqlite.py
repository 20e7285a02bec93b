from .harness import SqliteAdapter
from .suites.idempotency import IdempotencyStoreContract


class TestSqliteIdempotencyStore(SqliteAdapter, IdempotencyStoreContract):
    pass
