from .harness import PostgresAdapter
from .suites.payouts import PayoutsContract


class TestPostgresPayouts(PostgresAdapter, PayoutsContract):
    pass
