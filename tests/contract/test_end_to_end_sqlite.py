from .harness import SqliteAdapter
from .suites.end_to_end import UseCasesContract


class TestSqliteUseCases(SqliteAdapter, UseCasesContract):
    pass
