from .harness import MemoryAdapter
from .suites.payout_destinations import PayoutDestinationsContract, RegisterPayoutDestinationContract


class TestMemoryPayoutDestinations(MemoryAdapter, PayoutDestinationsContract):
    pass


class TestMemoryRegisterPayoutDestination(MemoryAdapter, RegisterPayoutDestinationContract):
    pass
