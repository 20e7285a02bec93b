from .harness import SqliteAdapter
from .suites.users import UsersContract


class TestSqliteUsers(SqliteAdapter, UsersContract):
    pass
