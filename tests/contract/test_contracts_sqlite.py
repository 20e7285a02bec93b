from .harness import SqliteAdapter
from .suites.contracts import ContractsContract


class TestSqliteContracts(SqliteAdapter, ContractsContract):
    pass
