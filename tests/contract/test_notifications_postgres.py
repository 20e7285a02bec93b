from .harness import PostgresAdapter
from .suites.notifications import (
    ContractPartiesContract,
    NotificationsContract,
    NotifyPartiesContract,
    WalletOwnersContract,
)


class TestPostgresNotifications(PostgresAdapter, NotificationsContract):
    pass


class TestPostgresContractParties(PostgresAdapter, ContractPartiesContract):
    pass


class TestPostgresWalletOwners(PostgresAdapter, WalletOwnersContract):
    pass


class TestPostgresNotifyParties(PostgresAdapter, NotifyPartiesContract):
    pass
