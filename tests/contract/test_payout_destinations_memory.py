from .harness import MemoryAdapter
from .suites.payout_destinations import (
    PayoutDestinationsContract,
    PinnedPayoutDestinationsContract,
    RegisterPayoutDestinationContract,
)


class TestMemoryPayoutDestinations(MemoryAdapter, PayoutDestinationsContract):
    pass


class TestMemoryRegisterPayoutDestination(MemoryAdapter, RegisterPayoutDestinationContract):
    pass


class TestMemoryPinnedPayoutDestinations(MemoryAdapter, PinnedPayoutDestinationsContract):
    pass
