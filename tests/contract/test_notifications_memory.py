from .harness import MemoryAdapter
from .suites.notifications import (
    ContractPartiesContract,
    NotificationsContract,
    NotifyPartiesContract,
    WalletOwnersContract,
)


class TestMemoryNotifications(MemoryAdapter, NotificationsContract):
    pass


class TestMemoryContractParties(MemoryAdapter, ContractPartiesContract):
    pass


class TestMemoryWalletOwners(MemoryAdapter, WalletOwnersContract):
    pass


class TestMemoryNotifyParties(MemoryAdapter, NotifyPartiesContract):
    pass
