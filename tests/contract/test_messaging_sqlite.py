from .harness import SqliteAdapter
from .suites.messaging import MessagingContract, SqlMessagingContract


class TestSqliteMessaging(SqliteAdapter, MessagingContract, SqlMessagingContract):
    pass
