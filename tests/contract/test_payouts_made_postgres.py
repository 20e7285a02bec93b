from .harness import PostgresAdapter
from .suites.payouts_made import PayoutsMadeContract


class TestPostgresPayoutsMade(PostgresAdapter, PayoutsMadeContract):
    pass
