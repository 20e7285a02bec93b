"""In-memory payments repositories (``Payments``, ``ProviderEventInbox``) and
``MemoryPayoutsMade`` (escrow's paid payouts, read for reconciliation) as parts of
``MemoryUnitOfWork``, and ``MemoryRoutingState`` (circuit breakers of one process).

The parts keep their rows in ``PaymentsTables`` (held by the ``MemoryStore``) and register
an undo for every write, like the other memory parts; the store lock serialises
transactions, so ``lock`` is ``get``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

from core.escrow.domain import PayoutStatus
from core.payments.domain import (
    BreakerState,
    OurPayout,
    Payment,
    PaymentId,
    PaymentNotFound,
    PaymentStatus,
    ProviderEvent,
)
from core.payments.ports import StoredProviderEvent
from core.shared.errors import ConcurrentUpdate

if TYPE_CHECKING:
    from adapters.memory.unit_of_work import MemoryStore


@attrs.define
class PaymentsTables:
    payments: dict[PaymentId, Payment] = attrs.Factory(dict)
    references: dict[tuple[str, str], PaymentId] = attrs.Factory(dict)
    captures: dict[tuple[str, str], PaymentId] = attrs.Factory(dict)  # (provider, capture reference)
    events: dict[tuple[str, str], StoredProviderEvent] = attrs.Factory(dict)


class _Host(Protocol):
    """What the parts need from the unit of work that holds them."""

    @property
    def payments_tables(self) -> PaymentsTables: ...

    def on_rollback(self, undo: Callable[[], None]) -> None: ...


class MemoryPayments:
    def __init__(self, uow: _Host) -> None:
        self._uow = uow

    @property
    def _t(self) -> PaymentsTables:
        return self._uow.payments_tables

    def add(self, payment: Payment) -> None:
        if payment.id in self._t.payments:
            raise ValueError(f"payment {payment.id} exists already")
        self._t.payments[payment.id] = copy.deepcopy(payment)
        self._index(payment)

        def undo() -> None:
            del self._t.payments[payment.id]

        self._uow.on_rollback(undo)

    def get(self, payment_id: PaymentId) -> Payment:
        try:
            return copy.deepcopy(self._t.payments[payment_id])
        except KeyError:
            raise PaymentNotFound(payment_id) from None

    def lock(self, payment_id: PaymentId) -> Payment:
        return self.get(payment_id)  # the store lock already serialises transactions

    def save(self, payment: Payment) -> None:
        stored = self._t.payments.get(payment.id)
        if stored is None:
            raise PaymentNotFound(payment.id)
        if stored.version != payment.version:
            raise ConcurrentUpdate(f"payment {payment.id}")
        payment.version += 1
        self._t.payments[payment.id] = copy.deepcopy(payment)
        self._index(payment)

        def undo() -> None:
            self._t.payments[payment.id] = stored

        self._uow.on_rollback(undo)

    def _index(self, payment: Payment) -> None:
        if payment.provider is None:
            return
        for index, reference in (
            (self._t.references, payment.provider_reference),
            (self._t.captures, payment.capture_reference),
        ):
            if reference is not None:
                self._index_one(index, (payment.provider, reference), payment.id)

    def _index_one(self, index: dict[tuple[str, str], PaymentId], slot: tuple[str, str], pid: PaymentId) -> None:
        if slot in index:
            return
        index[slot] = pid

        def undo() -> None:
            index.pop(slot, None)

        self._uow.on_rollback(undo)

    def by_provider_reference(self, provider: str, reference: str) -> Payment | None:
        pid = self._t.references.get((provider, reference))
        return None if pid is None else self.get(pid)

    def by_capture_reference(self, provider: str, reference: str) -> Payment | None:
        pid = self._t.captures.get((provider, reference))
        return None if pid is None else self.get(pid)

    def captured_between(self, provider: str, start: datetime, end: datetime) -> list[Payment]:
        found = [
            p
            for p in self._t.payments.values()
            if p.provider == provider
            and (
                (p.captured_at is not None and start <= p.captured_at < end)
                or any(start <= r.requested_at < end for r in p.refunds)
            )
        ]
        return [copy.deepcopy(p) for p in sorted(found, key=lambda p: p.id)]

    def in_status(self, statuses: Collection[PaymentStatus], *, limit: int) -> list[Payment]:
        wanted = frozenset(statuses)
        found = [p for p in self._t.payments.values() if p.status in wanted]
        found.sort(key=lambda p: (p.created_at, p.id))
        return [copy.deepcopy(p) for p in found[: max(limit, 0)]]


class MemoryProviderEventInbox:
    def __init__(self, uow: _Host) -> None:
        self._uow = uow

    @property
    def _t(self) -> PaymentsTables:
        return self._uow.payments_tables

    def add(self, event: ProviderEvent, *, received_at: datetime) -> bool:
        key = (event.provider, event.provider_event_id)
        if key in self._t.events:
            return False
        self._t.events[key] = StoredProviderEvent(event=event, received_at=received_at)

        def undo() -> None:
            del self._t.events[key]

        self._uow.on_rollback(undo)
        return True

    def get(self, provider: str, provider_event_id: str) -> StoredProviderEvent | None:
        return self._t.events.get((provider, provider_event_id))

    def mark_applied(self, provider: str, provider_event_id: str, *, at: datetime, outcome: str) -> None:
        key = (provider, provider_event_id)
        previous = self._t.events[key]
        self._t.events[key] = attrs.evolve(previous, applied_at=at, outcome=outcome)

        def undo() -> None:
            self._t.events[key] = previous

        self._uow.on_rollback(undo)

    def unapplied_for(self, provider: str, provider_reference: str) -> list[StoredProviderEvent]:
        found = [
            s
            for (p, _), s in self._t.events.items()
            if p == provider and s.applied_at is None and s.event.provider_reference == provider_reference
        ]
        return sorted(found, key=lambda s: (s.received_at, s.event.provider_event_id))

    def unapplied_for_capture(self, provider: str, capture_reference: str) -> list[StoredProviderEvent]:
        found = [
            s
            for (p, _), s in self._t.events.items()
            if p == provider and s.applied_at is None and s.event.capture_reference == capture_reference
        ]
        return sorted(found, key=lambda s: (s.received_at, s.event.provider_event_id))


class _StoreHost(Protocol):
    @property
    def store(self) -> MemoryStore: ...


class MemoryPayoutsMade:
    """``PayoutsMade`` over the store's escrow payouts (read only)."""

    def __init__(self, uow: _StoreHost) -> None:
        self._uow = uow

    def paid_through(self, provider: str, start: datetime, end: datetime) -> list[OurPayout]:
        found = [
            OurPayout(payout_id=p.id, reference=p.reference, amount=p.amount, paid_at=p.settled_at)
            for p in self._uow.store.payouts.values()
            if p.status is PayoutStatus.PAID
            and p.gateway == provider
            and p.reference is not None
            and p.settled_at is not None
            and start <= p.settled_at < end
        ]
        return sorted(found, key=lambda p: p.payout_id)


class MemoryRoutingState:
    """Circuit breakers of one process. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, BreakerState] = {}

    def get(self, provider: str) -> BreakerState:
        with self._lock:
            return self._states.get(provider) or BreakerState(provider=provider)

    def update(self, provider: str, change: Callable[[BreakerState], BreakerState]) -> BreakerState:
        with self._lock:
            new = change(self._states.get(provider) or BreakerState(provider=provider))
            self._states[provider] = new
            return new
