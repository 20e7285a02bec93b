from .harness import PostgresAdapter
from .suites.payout_destinations import PayoutDestinationsContract, RegisterPayoutDestinationContract


class TestPostgresPayoutDestinations(PostgresAdapter, PayoutDestinationsContract):
    pass


class TestPostgresRegisterPayoutDestination(PostgresAdapter, RegisterPayoutDestinationContract):
    pass
