from .harness import SqliteAdapter
from .suites.timers import TimersContract


class TestSqliteTimers(SqliteAdapter, TimersContract):
    pass
