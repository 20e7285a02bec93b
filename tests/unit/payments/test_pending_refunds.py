"""The janitor asks the provider about refunds left PENDING with a reference (the provider
accepted them; only a webhook, which may be lost, would finish them): ``refund_status`` on
the ``payments.refund_retry`` schedule, the answer booked exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.payments.domain import (
    RESOLVE_BACKOFF,
    AlertKind,
    PaymentAlertRaised,
    PaymentId,
    PaymentStatus,
    ProviderEventKind,
    RefundRequest,
    RefundResult,
    RefundStatus,
    TimerKinds,
    resolve_delay,
)
from core.shared.gateways import GatewayOutcomeUnknown
from tests.unit.payments.world import PaymentsWorld, client, eur, provider_event


def _refund_calls(world: PaymentsWorld, provider: str = "stripe") -> list[str]:
    """Record the outbound key of every refund call to ``provider``."""
    gateway = world.gateways[provider]
    keys: list[str] = []
    real = gateway.refund

    def refund(request: RefundRequest) -> RefundResult:
        keys.append(request.idempotency_key)
        return real(request)

    gateway.refund = refund  # type: ignore[method-assign]
    return keys


def _refund_outcomes(world: PaymentsWorld) -> list[str]:
    return [r.outcome for r in world.run_janitor().resolved if r.refund_id is not None]


def _open_refund_timers(world: PaymentsWorld) -> list[str]:
    return sorted(
        row.timer.id
        for row in world.store.timers.values()
        if row.timer.kind == TimerKinds.REFUND_RETRY and row.fired_at is None
    )


def _unresolved_alerts(world: PaymentsWorld) -> list[PaymentAlertRaised]:
    return [
        e
        for e in world.events_named("payments.alert_raised")
        if isinstance(e, PaymentAlertRaised) and e.kind is AlertKind.REFUND_UNRESOLVED
    ]


def _pending_refund(world: PaymentsWorld, minor: int = 400) -> tuple[PaymentId, str]:
    """A captured top-up of 1 000 and a refund the provider accepted as pending."""
    view = world.top_up(client(), 1_000)
    world.gateways["stripe"].next_refund_status = RefundStatus.PENDING
    answered = world.refund(view.payment_id, minor)
    assert answered.status is RefundStatus.PENDING
    [refund] = world.payment(view.payment_id).refunds
    assert refund.provider_reference is not None
    return view.payment_id, refund.provider_reference


def test_a_pending_refund_whose_webhook_is_lost_is_asked_about_and_booked_once() -> None:
    world, alice = PaymentsWorld(), client()
    calls = _refund_calls(world)
    payment_id, reference = _pending_refund(world)
    gateway = world.gateways["stripe"]
    assert world.wallet_balance(alice) == 600  # debited at the intent
    world.clock.advance(resolve_delay(0))
    assert _refund_outcomes(world) == ["retry"]  # still pending at the provider
    assert gateway.status_calls == [reference]
    gateway.settle_refund(reference, RefundStatus.SUCCEEDED)
    world.clock.advance(resolve_delay(1))
    assert _refund_outcomes(world) == ["resolved"]
    payment = world.payment(payment_id)
    assert [r.status for r in payment.refunds] == [RefundStatus.SUCCEEDED]
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_refund") == 1
    assert len(calls) == 1  # asked about, never sent again
    assert _open_refund_timers(world) == []
    # The webhook, late after all, changes nothing.
    world.deliver(
        provider_event(
            "stripe",
            "evt_late_refund",
            ProviderEventKind.PAYMENT_REFUNDED,
            payment.provider_reference,
            at=world.clock.now(),
            amount=eur(400),
            refund_reference=reference,
        )
    )
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_refund") == 1
    world.clock.advance(timedelta(days=3))
    assert _refund_outcomes(world) == []
    assert gateway.status_calls == [reference, reference]


def test_a_pending_refund_the_provider_then_fails_is_booked_back_to_the_wallet_once() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, reference = _pending_refund(world, 300)
    world.gateways["stripe"].settle_refund(reference, RefundStatus.FAILED)
    world.clock.advance(resolve_delay(0))
    assert _refund_outcomes(world) == ["resolved"]
    payment = world.payment(payment_id)
    assert [r.status for r in payment.refunds] == [RefundStatus.FAILED]
    assert payment.status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind("payment_refund_reversal") == 1
    world.deliver(
        provider_event(
            "stripe",
            "evt_refund_failed",
            ProviderEventKind.REFUND_FAILED,
            payment.provider_reference,
            at=world.clock.now(),
            amount=eur(300),
            refund_reference=reference,
        )
    )
    world.clock.advance(timedelta(days=3))
    world.run_janitor()
    assert world.entries_of_kind("payment_refund_reversal") == 1
    assert world.wallet_balance(alice) == 1_000


@pytest.mark.parametrize("provider_answer", ["pending", "unavailable", "cannot_be_asked"])
def test_a_refund_that_stays_pending_is_asked_on_the_backoff_schedule_and_alerted_once(provider_answer: str) -> None:
    world, alice = PaymentsWorld(), client()
    calls = _refund_calls(world)
    payment_id, reference = _pending_refund(world)
    gateway = world.gateways["stripe"]
    gateway.refund_status_unavailable = provider_answer == "unavailable"
    gateway.asks_refunds = provider_answer != "cannot_be_asked"
    for step in range(len(RESOLVE_BACKOFF) + 1):
        [timer_id] = _open_refund_timers(world)
        assert timer_id.endswith(f"_{step}")
        world.clock.advance(resolve_delay(step) - timedelta(seconds=1))
        assert _refund_outcomes(world) == []  # not due yet
        world.clock.advance(timedelta(seconds=1))
        assert _refund_outcomes(world) == ["retry"]
    assert gateway.status_calls == [reference] * (len(RESOLVE_BACKOFF) + 1)
    assert [r.status for r in world.payment(payment_id).refunds] == [RefundStatus.PENDING]
    assert len(_unresolved_alerts(world)) == 1
    assert len(calls) == 1
    assert world.wallet_balance(alice) == 600
    # The provider answers at last (or its webhook arrives): booked once, no more timers.
    gateway.refund_status_unavailable, gateway.asks_refunds = False, True
    gateway.settle_refund(reference, RefundStatus.SUCCEEDED)
    world.clock.advance(timedelta(days=1))
    assert _refund_outcomes(world) == ["resolved"]
    assert world.payment(payment_id).status is PaymentStatus.PARTIALLY_REFUNDED
    assert world.entries_of_kind("payment_refund") == 1
    assert world.wallet_balance(alice) == 600
    assert _open_refund_timers(world) == []
    assert len(_unresolved_alerts(world)) == 1


def test_a_retried_refund_answered_pending_is_then_asked_about_not_sent_again() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    gateway = world.gateways["stripe"]
    calls = _refund_calls(world)
    gateway.next_refund_status = RefundStatus.PENDING
    gateway.lose_answers = 1
    with pytest.raises(GatewayOutcomeUnknown):
        world.refund(view.payment_id, 250)
    world.clock.advance(resolve_delay(0))
    assert _refund_outcomes(world) == ["retry"]  # the retry's answer: accepted, pending
    [refund] = world.payment(view.payment_id).refunds
    assert (refund.status, refund.provider_reference) == (RefundStatus.PENDING, "stripe_re_0001")
    assert len(calls) == 2 and gateway.status_calls == []
    gateway.settle_refund("stripe_re_0001", RefundStatus.SUCCEEDED)
    world.clock.advance(resolve_delay(1))
    assert _refund_outcomes(world) == ["resolved"]
    assert gateway.status_calls == ["stripe_re_0001"]
    assert len(calls) == 2  # the call was never sent a third time
    assert len(gateway.refunds) == 1
    assert world.wallet_balance(alice) == 750
    assert world.entries_of_kind("payment_refund") == 1


def test_a_pending_refund_finished_by_its_webhook_makes_the_timer_obsolete_without_asking() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, reference = _pending_refund(world)
    payment = world.payment(payment_id)
    world.deliver(
        provider_event(
            "stripe",
            "evt_refund_ok",
            ProviderEventKind.PAYMENT_REFUNDED,
            payment.provider_reference,
            at=world.clock.now(),
            amount=eur(400),
            refund_reference=reference,
        )
    )
    world.clock.advance(resolve_delay(0))
    assert _refund_outcomes(world) == ["obsolete"]
    assert world.gateways["stripe"].status_calls == []
    assert world.entries_of_kind("payment_refund") == 1
    assert world.wallet_balance(alice) == 600
