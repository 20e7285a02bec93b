from .harness import PostgresAdapter
from .suites.concurrency import ConcurrencyContract


class TestPostgresConcurrency(PostgresAdapter, ConcurrencyContract):
    pass
