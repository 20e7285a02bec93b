from .harness import SqliteAdapter
from .suites.payout_destinations import PayoutDestinationsContract, RegisterPayoutDestinationContract


class TestSqlitePayoutDestinations(SqliteAdapter, PayoutDestinationsContract):
    pass


class TestSqliteRegisterPayoutDestination(SqliteAdapter, RegisterPayoutDestinationContract):
    pass
