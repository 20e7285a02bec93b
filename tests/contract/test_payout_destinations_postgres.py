from .harness import PostgresAdapter
from .suites.payout_destinations import (
    PayoutDestinationsContract,
    PinnedPayoutDestinationsContract,
    RegisterPayoutDestinationContract,
)


class TestPostgresPayoutDestinations(PostgresAdapter, PayoutDestinationsContract):
    pass


class TestPostgresRegisterPayoutDestination(PostgresAdapter, RegisterPayoutDestinationContract):
    pass


class TestPostgresPinnedPayoutDestinations(PostgresAdapter, PinnedPayoutDestinationsContract):
    pass
