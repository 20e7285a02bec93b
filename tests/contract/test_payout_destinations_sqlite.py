from .harness import SqliteAdapter
from .suites.payout_destinations import (
    PayoutDestinationsContract,
    PinnedPayoutDestinationsContract,
    RegisterPayoutDestinationContract,
)


class TestSqlitePayoutDestinations(SqliteAdapter, PayoutDestinationsContract):
    pass


class TestSqliteRegisterPayoutDestination(SqliteAdapter, RegisterPayoutDestinationContract):
    pass


class TestSqlitePinnedPayoutDestinations(SqliteAdapter, PinnedPayoutDestinationsContract):
    pass
