from .harness import SqliteAdapter
from .suites.notifications import (
    ContractPartiesContract,
    NotificationsContract,
    NotifyPartiesContract,
    WalletOwnersContract,
)


class TestSqliteNotifications(SqliteAdapter, NotificationsContract):
    pass


class TestSqliteContractParties(SqliteAdapter, ContractPartiesContract):
    pass


class TestSqliteWalletOwners(SqliteAdapter, WalletOwnersContract):
    pass


class TestSqliteNotifyParties(SqliteAdapter, NotifyPartiesContract):
    pass
