from .harness import SqliteAdapter
from .suites.journal import JournalContract


class TestSqliteJournal(SqliteAdapter, JournalContract):
    pass
