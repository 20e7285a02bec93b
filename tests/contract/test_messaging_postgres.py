from .harness import PostgresAdapter
from .suites.messaging import MessagingContract, SqlMessagingContract


class TestPostgresMessaging(PostgresAdapter, MessagingContract, SqlMessagingContract):
    pass
