from .harness import PostgresAdapter
from .suites.users import UsersContract


class TestPostgresUsers(PostgresAdapter, UsersContract):
    pass
