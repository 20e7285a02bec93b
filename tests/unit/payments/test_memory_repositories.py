from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.memory.payments import MemoryRoutingState
from adapters.memory.unit_of_work import MemoryStore, MemoryUnitOfWork
from core.payments.domain import (
    BreakerPolicy,
    Payment,
    PaymentMethod,
    PaymentNotFound,
    PaymentPurpose,
    ProviderEventKind,
    ProviderStatus,
)
from core.shared.errors import ConcurrentUpdate
from tests.unit.payments.world import eur, provider_event

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _payment() -> Payment:
    p = Payment.start(
        payer_id="usr_a",
        purpose=PaymentPurpose.WALLET_TOP_UP,
        amount=eur(100),
        method=PaymentMethod.CARD,
        country="DE",
        at=T0,
    )
    p.route_to("stripe")
    return p


def test_a_payment_not_committed_is_gone() -> None:
    store, p = MemoryStore(), _payment()
    with MemoryUnitOfWork(store) as uow:
        uow.payments.add(p)
    with MemoryUnitOfWork(store) as uow, pytest.raises(PaymentNotFound):
        uow.payments.get(p.id)


def test_a_stale_save_is_a_concurrent_update_and_the_reference_index_follows_saves() -> None:
    store, p = MemoryStore(), _payment()
    with MemoryUnitOfWork(store) as uow:
        uow.payments.add(p)
        uow.commit()
    with MemoryUnitOfWork(store) as uow:
        a, b = uow.payments.lock(p.id), uow.payments.lock(p.id)
        a.provider_reference = "ch_1"
        a.observe(ProviderStatus.CAPTURED, at=T0)
        uow.payments.save(a)
        with pytest.raises(ConcurrentUpdate):
            uow.payments.save(b)
        uow.commit()
    with MemoryUnitOfWork(store) as uow:
        found = uow.payments.by_provider_reference("stripe", "ch_1")
        assert found is not None and found.id == p.id
        assert uow.payments.by_provider_reference("adyen", "ch_1") is None
        assert [x.id for x in uow.payments.captured_between("stripe", T0, T0.replace(day=2))] == [p.id]


def test_the_inbox_keeps_the_first_copy_of_an_event() -> None:
    store = MemoryStore()
    event = provider_event("stripe", "evt_1", ProviderEventKind.PAYMENT_CAPTURED, "ch_1", at=T0)
    with MemoryUnitOfWork(store) as uow:
        assert uow.provider_events.add(event, received_at=T0)
        assert not uow.provider_events.add(event, received_at=T0)
        uow.commit()
    with MemoryUnitOfWork(store) as uow:
        assert not uow.provider_events.add(event, received_at=T0)
        assert [s.event for s in uow.provider_events.unapplied_for("stripe", "ch_1")] == [event]
        uow.provider_events.mark_applied("stripe", "evt_1", at=T0, outcome="applied")
        uow.commit()
    with MemoryUnitOfWork(store) as uow:
        assert uow.provider_events.unapplied_for("stripe", "ch_1") == []


def test_routing_state_updates_atomically_per_provider() -> None:
    state = MemoryRoutingState()
    policy = BreakerPolicy(failure_threshold=1)
    state.update("stripe", lambda s: s.failed(T0, policy))
    assert not state.get("stripe").allows(T0, policy)
    assert state.get("adyen").allows(T0, policy)
