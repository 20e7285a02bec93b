from .harness import PostgresAdapter
from .suites.idempotency import IdempotencyStoreContract


class TestPostgresIdempotencyStore(PostgresAdapter, IdempotencyStoreContract):
    pass
