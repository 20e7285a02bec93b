from .harness import SqliteAdapter
from .suites.parties import PartiesContract


class TestSqliteParties(SqliteAdapter, PartiesContract):
    pass
