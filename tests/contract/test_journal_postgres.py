from .harness import PostgresAdapter
from .suites.journal import JournalContract


class TestPostgresJournal(PostgresAdapter, JournalContract):
    pass
