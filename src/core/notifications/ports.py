"""What notifications need from storage: their own repository, and two read-only looks at
other contexts' records (a contract's parties, a wallet's owner), so that this context
never imports them. Every port works inside the unit of work; storage failures surface as
DependencyUnavailable, never as driver exceptions.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from core.notifications.domain import (  # noqa: F401  (named in the docstrings)
    Listed,
    Notification,
    NotificationId,
    NotificationNotFound,
)
from core.shared.unit_of_work import UnitOfWork


class Notifications(Protocol):
    """Notifications inside one unit of work.

    Concurrency: ``add`` relies on the (event id, recipient) uniqueness; two transactions
    adding the same pair never both succeed (the second waits for the first, then gets
    False). ``mark_read`` only ever sets ``read_at`` once, so racing marks agree.
    """

    def add(self, notification: Notification) -> bool:
        """Store it; False (and nothing stored) if the recipient already has one for this
        event. Idempotent by (event id, recipient), whatever the notification's id."""
        ...

    def get(self, notification_id: NotificationId) -> Notification:
        """Raises NotificationNotFound."""
        ...

    def page(self, recipient_id: str, *, before_seq: int | None, limit: int, unread_only: bool) -> list[Listed]:
        """The recipient's notifications, newest first (``seq`` descending), those before
        ``before_seq`` only when given, at most ``limit``; unread ones only if asked."""
        ...

    def unread_count(self, recipient_id: str) -> int: ...

    def mark_read(self, recipient_id: str, *, ids: Collection[NotificationId] | None, at: datetime) -> int:
        """Set ``read_at`` on the recipient's unread notifications among ``ids`` (all of
        them when None); ids of others' notifications are left alone. Returns how many
        changed (already read ones keep their first time and do not count)."""
        ...


class ContractParties(Protocol):
    """Escrow's contracts as notifications need them: who the parties are."""

    def parties(self, contract_id: str) -> tuple[str, str] | None:
        """(client id, provider id) of the contract; None if there is no such contract."""
        ...


class WalletOwners(Protocol):
    """The ledger's wallets as notifications need them: whose they are."""

    def owner(self, wallet_id: str) -> str | None:
        """The user id owning this member wallet; None for an unknown id or an account
        that is not a member's wallet (platform accounts notify nobody)."""
        ...


class NotificationsUnitOfWork(UnitOfWork, Protocol):
    @property
    def notifications(self) -> Notifications: ...

    @property
    def contract_parties(self) -> ContractParties: ...

    @property
    def wallet_owners(self) -> WalletOwners: ...
