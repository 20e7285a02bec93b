from .harness import PostgresAdapter
from .suites.outbox import OutboxContract


class TestPostgresOutbox(PostgresAdapter, OutboxContract):
    pass
