"""Payout destinations in memory (``PayoutDestinations``), for ``MemoryUnitOfWork`` to
expose. Reads and writes the ``MemoryStore`` under its lock (held by the unit of work)
and registers undos with it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from core.payments.destinations import PayoutDestination, PinnedPayoutDestination
from core.shared.ids import UserId

if TYPE_CHECKING:
    from adapters.memory.unit_of_work import MemoryStore


class _Transaction(Protocol):
    @property
    def store(self) -> MemoryStore: ...

    def on_rollback(self, undo: Callable[[], object]) -> None: ...


class MemoryPayoutDestinations:
    def __init__(self, uow: _Transaction) -> None:
        self._uow = uow

    @property
    def _rows(self) -> dict[tuple[str, str], PayoutDestination]:
        return self._uow.store.payout_destinations

    def put(self, destination: PayoutDestination) -> PayoutDestination | None:
        rows = self._rows
        slot = (destination.payee_id, destination.provider)
        previous = rows.get(slot)
        rows[slot] = destination

        def undo() -> None:
            if previous is None:
                del rows[slot]
            else:
                rows[slot] = previous

        self._uow.on_rollback(undo)
        return previous

    def get(self, payee_id: str, provider: str) -> PayoutDestination | None:
        return self._rows.get((payee_id, provider))

    def of_payee(self, payee_id: str) -> list[PayoutDestination]:
        return sorted((d for (payee, _), d in self._rows.items() if payee == payee_id), key=lambda d: d.provider)

    def pin(self, payout_id: str, payee_id: str, provider: str, *, at: datetime) -> PinnedPayoutDestination | None:
        pins = self._uow.store.payout_destination_pins
        if (pinned := pins.get(payout_id)) is not None:
            return pinned
        current = self._rows.get((payee_id, provider))
        if current is None:
            return None
        pinned = PinnedPayoutDestination(
            payout_id=payout_id, payee_id=UserId(payee_id), provider=provider, value=current.value, pinned_at=at
        )
        pins[payout_id] = pinned
        self._uow.on_rollback(lambda: pins.pop(payout_id, None))
        return pinned

    def pinned(self, payout_id: str) -> PinnedPayoutDestination | None:
        return self._uow.store.payout_destination_pins.get(payout_id)
