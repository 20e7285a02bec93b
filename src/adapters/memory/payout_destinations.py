"""Payout destinations in memory (``PayoutDestinations``), for ``MemoryUnitOfWork`` to
expose. Reads and writes the ``MemoryStore`` under its lock (held by the unit of work)
and registers undos with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from core.payments.destinations import PayoutDestination

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
