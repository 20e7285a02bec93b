from .harness import SqliteAdapter
from .suites.outbox import OutboxContract


class TestSqliteOutbox(SqliteAdapter, OutboxContract):
    pass
