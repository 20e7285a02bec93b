"""Notifications' ports in memory: ``MemoryNotifications``, ``MemoryContractParties`` and
``MemoryWalletOwners``, for ``MemoryUnitOfWork`` to expose. They read and write the
``MemoryStore`` under its lock (held by the unit of work) and register undos with it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

from core.escrow.domain import ContractId
from core.ledger.domain import AccountKind
from core.notifications.domain import Listed, Notification, NotificationId, NotificationNotFound
from core.shared.ids import AccountId

if TYPE_CHECKING:
    from adapters.memory.unit_of_work import MemoryStore


class NotificationRows:
    """The store's notifications: by id, with their seq, and the (event, recipient) index."""

    def __init__(self) -> None:
        self.by_id: dict[NotificationId, Listed] = {}
        self.by_event: dict[tuple[str, str], NotificationId] = {}
        self.seq = itertools.count(1)


class _Transaction(Protocol):
    @property
    def store(self) -> MemoryStore: ...

    def on_rollback(self, undo: Callable[[], object]) -> None: ...


class MemoryNotifications:
    def __init__(self, uow: _Transaction) -> None:
        self._uow = uow

    @property
    def _rows(self) -> NotificationRows:
        return self._uow.store.notifications

    def add(self, notification: Notification) -> bool:
        rows = self._rows
        key = (notification.event_id, notification.recipient_id)
        if key in rows.by_event:
            return False
        if notification.id in rows.by_id:
            raise ValueError(f"notification {notification.id} exists already")
        rows.by_id[notification.id] = Listed(seq=next(rows.seq), notification=notification)
        rows.by_event[key] = notification.id

        def undo() -> None:
            del rows.by_id[notification.id]
            del rows.by_event[key]

        self._uow.on_rollback(undo)
        return True

    def get(self, notification_id: NotificationId) -> Notification:
        listed = self._rows.by_id.get(notification_id)
        if listed is None:
            raise NotificationNotFound(notification_id)
        return listed.notification

    def page(self, recipient_id: str, *, before_seq: int | None, limit: int, unread_only: bool) -> list[Listed]:
        if limit <= 0:
            return []
        chosen = [
            listed
            for listed in self._rows.by_id.values()
            if listed.notification.recipient_id == recipient_id
            and (before_seq is None or listed.seq < before_seq)
            and not (unread_only and listed.notification.is_read)
        ]
        chosen.sort(key=lambda listed: listed.seq, reverse=True)
        return chosen[:limit]

    def unread_count(self, recipient_id: str) -> int:
        return sum(
            1
            for listed in self._rows.by_id.values()
            if listed.notification.recipient_id == recipient_id and not listed.notification.is_read
        )

    def mark_read(self, recipient_id: str, *, ids: Collection[NotificationId] | None, at: datetime) -> int:
        rows = self._rows
        wanted = None if ids is None else frozenset(ids)
        changed = [
            listed
            for nid, listed in rows.by_id.items()
            if listed.notification.recipient_id == recipient_id
            and not listed.notification.is_read
            and (wanted is None or nid in wanted)
        ]
        for listed in changed:
            rows.by_id[listed.notification.id] = attrs.evolve(listed, notification=listed.notification.read(at))

        def undo() -> None:
            for listed in changed:
                rows.by_id[listed.notification.id] = listed

        self._uow.on_rollback(undo)
        return len(changed)


class MemoryContractParties:
    def __init__(self, uow: _Transaction) -> None:
        self._uow = uow

    def parties(self, contract_id: str) -> tuple[str, str] | None:
        contract = self._uow.store.contracts.get(ContractId(contract_id))
        return None if contract is None else (contract.client_id, contract.provider_id)


class MemoryWalletOwners:
    def __init__(self, uow: _Transaction) -> None:
        self._uow = uow

    def owner(self, wallet_id: str) -> str | None:
        account = self._uow.store.accounts.get(AccountId(wallet_id))
        return None if account is None or account.kind is not AccountKind.WALLET else account.owner_id
