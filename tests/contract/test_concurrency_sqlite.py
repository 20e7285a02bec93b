from .harness import SqliteAdapter
from .suites.concurrency import ConcurrencyContract


class TestSqliteConcurrency(SqliteAdapter, ConcurrencyContract):
    pass
