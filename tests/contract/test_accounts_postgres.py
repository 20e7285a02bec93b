from .harness import PostgresAdapter
from .suites.accounts import AccountsContract


class TestPostgresAccounts(PostgresAdapter, AccountsContract):
    pass
