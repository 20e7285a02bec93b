from .harness import SqliteAdapter
from .suites.unit_of_work import UnitOfWorkContract


class TestSqliteUnitOfWork(SqliteAdapter, UnitOfWorkContract):
    pass
