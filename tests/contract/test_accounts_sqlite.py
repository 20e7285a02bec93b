from .harness import SqliteAdapter
from .suites.accounts import AccountsContract


class TestSqliteAccounts(SqliteAdapter, AccountsContract):
    pass
