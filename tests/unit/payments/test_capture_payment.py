"""Capturing authorised payments: a PayPal order the payer approved, or a payment a
provider authorised without capturing. Once, whoever asks and however often."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.payments.domain import (
    RESOLVE_BACKOFF,
    AlertKind,
    EntryKinds,
    PaymentAlertRaised,
    PaymentNotFound,
    PaymentStatus,
    ProviderEventKind,
    ProviderStatus,
    resolve_delay,
)
from tests.unit.payments.world import PaymentsWorld, client, eur, key, provider_event

alice = client("alice")


def authorised(world: PaymentsWorld, minor: int = 1_000) -> tuple[str, str]:
    """A top-up the provider answered "authorised, not captured"; (payment id, reference)."""
    world.gateways["stripe"].next_status = ProviderStatus.AUTHORIZED
    view = world.top_up(alice, minor)
    assert view.status is PaymentStatus.AUTHORIZED and view.provider_reference is not None
    return view.payment_id, view.provider_reference


def test_an_authorised_payment_is_captured_once_by_its_timer_and_credited_once() -> None:
    world = PaymentsWorld()
    payment_id, reference = authorised(world)
    assert world.wallet_balance(alice) == 0  # authorised is not money yet

    fired = world.run_captures()
    again = world.run_captures()

    assert [f.outcome for f in fired.fired] == ["captured"] and again.fired == ()
    assert world.payment(payment_id).status is PaymentStatus.CAPTURED
    assert world.gateways["stripe"].captures == [reference]
    assert world.wallet_balance(alice) == 1_000
    assert world.clearing_balance("stripe") == -1_000
    assert world.entries_of_kind(EntryKinds.CAPTURE) == 1


def test_an_approval_webhook_delivered_twice_leads_to_one_capture_and_its_webhook_credits_nothing_more() -> None:
    world = PaymentsWorld()
    gateway = world.gateways["stripe"]
    gateway.next_status = ProviderStatus.REQUIRES_ACTION  # the payer must approve at the provider
    view = world.top_up(alice, 1_200)
    reference = view.provider_reference
    assert view.status is PaymentStatus.REQUIRES_ACTION and reference is not None
    gateway.settle(reference, ProviderStatus.AUTHORIZED)  # the payer approved
    approved = [
        provider_event("stripe", f"evt_ok_{i}", ProviderEventKind.PAYMENT_AUTHORIZED, reference, at=world.clock.now())
        for i in (1, 2)
    ]
    world.deliver(approved[0])
    world.deliver(approved[1])
    assert world.payment(view.payment_id).status is PaymentStatus.AUTHORIZED

    world.run_captures()
    world.run_captures()
    world.deliver(
        provider_event(
            "stripe",
            "evt_cap",
            ProviderEventKind.PAYMENT_CAPTURED,
            reference,
            at=world.clock.now(),
            amount=eur(1_200),
        )
    )

    assert gateway.captures == [reference]
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_200
    assert world.entries_of_kind(EntryKinds.CAPTURE) == 1


def test_the_payer_back_from_approving_captures_at_once_and_the_timer_then_has_nothing_to_do() -> None:
    world = PaymentsWorld()
    payment_id, reference = authorised(world, 700)
    k = key()

    captured = world.capture(alice, payment_id, k=k)
    replayed = world.capture(alice, payment_id, k=k)
    fired = world.run_captures()

    assert captured.status is PaymentStatus.CAPTURED and replayed.status is PaymentStatus.CAPTURED
    assert [f.outcome for f in fired.fired] == ["obsolete"]
    assert world.gateways["stripe"].captures == [reference]
    assert world.wallet_balance(alice) == 700


def test_nobody_else_can_capture_a_payers_payment() -> None:
    world = PaymentsWorld()
    payment_id, _ = authorised(world)
    with pytest.raises(PaymentNotFound):
        world.capture(client("mallory"), payment_id)
    assert world.gateways["stripe"].captures == []
    assert world.payment(payment_id).status is PaymentStatus.AUTHORIZED


def test_an_unavailable_provider_is_asked_again_later_with_the_same_key() -> None:
    world = PaymentsWorld()
    payment_id, reference = authorised(world)
    gateway = world.gateways["stripe"]
    gateway.unavailable = True

    first = world.run_captures()
    assert [f.outcome for f in first.fired] == ["retry"]
    assert world.payment(payment_id).status is PaymentStatus.AUTHORIZED
    assert world.run_captures().fired == ()  # the next attempt is not due yet

    gateway.unavailable = False
    world.clock.advance(resolve_delay(1))
    second = world.run_captures()

    assert [f.outcome for f in second.fired] == ["captured"]
    assert gateway.captures == [reference]
    assert world.wallet_balance(alice) == 1_000


def test_a_capture_whose_answer_was_lost_is_answered_by_the_retry_and_taken_once() -> None:
    world = PaymentsWorld()
    payment_id, reference = authorised(world)
    gateway = world.gateways["stripe"]
    gateway.lose_answers = 1  # the provider captures, the answer never arrives

    world.run_captures()
    assert world.payment(payment_id).status is PaymentStatus.AUTHORIZED
    assert world.wallet_balance(alice) == 0
    world.clock.advance(resolve_delay(1))
    world.run_captures()

    assert gateway.captures == [reference]
    assert world.payment(payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_000


def test_a_refused_capture_fails_the_payment_and_credits_nothing() -> None:
    world = PaymentsWorld()
    payment_id, _ = authorised(world)
    world.gateways["stripe"].decline_next("INSTRUMENT_DECLINED")

    world.run_captures()

    payment = world.payment(payment_id)
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason == "INSTRUMENT_DECLINED"
    assert world.wallet_balance(alice) == 0 and world.entries_of_kind(EntryKinds.CAPTURE) == 0


def test_a_refusal_because_it_was_captured_already_is_looked_up_and_credited_once() -> None:
    world = PaymentsWorld()
    payment_id, reference = authorised(world, 900)
    gateway = world.gateways["stripe"]
    gateway.settle(reference, ProviderStatus.CAPTURED)  # captured at the provider by other means

    world.run_captures()  # the fake refuses a capture of a captured charge

    assert gateway.captures == []
    assert world.payment(payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 900


def test_a_capture_that_never_gets_an_answer_alerts_once_when_it_goes_daily() -> None:
    world = PaymentsWorld()
    payment_id, _ = authorised(world)
    world.gateways["stripe"].unavailable = True

    world.run_captures()
    for step in range(1, len(RESOLVE_BACKOFF) + 2):
        world.clock.advance(resolve_delay(step) + timedelta(seconds=1))
        world.run_captures()

    alerts = [
        e
        for e in world.events_named("payments.alert_raised")
        if isinstance(e, PaymentAlertRaised) and e.kind is AlertKind.CAPTURE_UNRESOLVED
    ]
    assert len(alerts) == 1 and alerts[0].payment_id == payment_id
    assert world.payment(payment_id).status is PaymentStatus.AUTHORIZED
    assert world.wallet_balance(alice) == 0


def test_the_payer_back_before_the_approval_webhook_is_looked_up_then_captured() -> None:
    world = PaymentsWorld()
    gateway = world.gateways["stripe"]
    gateway.next_status = ProviderStatus.REQUIRES_ACTION
    view = world.top_up(alice, 800)
    reference = view.provider_reference
    assert reference is not None

    early = world.capture(alice, view.payment_id)  # not approved yet: nothing to take
    assert early.status is PaymentStatus.REQUIRES_ACTION and gateway.captures == []

    gateway.settle(reference, ProviderStatus.AUTHORIZED)  # the payer approved
    back = world.capture(alice, view.payment_id)
    world.run_captures()  # the timer the approval scheduled finds nothing left to do

    assert back.status is PaymentStatus.CAPTURED
    assert gateway.captures == [reference]
    assert world.wallet_balance(alice) == 800


def test_a_malformed_capture_timer_is_postponed_and_never_stalls_the_others() -> None:
    from core.payments.domain import TimerKinds
    from core.shared.timers import FAILED_TIMER_RETRY, Timer

    world = PaymentsWorld()
    with world.uow() as uow:
        uow.timers.schedule(
            Timer(id="tmr_capture_broken", kind=TimerKinds.CAPTURE, due_at=world.clock.now(), payload={"step": 0})
        )
        uow.commit()
    payment_id, _ = authorised(world)

    result = world.run_captures()

    assert result.failed == ("tmr_capture_broken",)
    assert [f.outcome for f in result.fired] == ["captured"]
    assert world.payment(payment_id).status is PaymentStatus.CAPTURED
    assert world.run_captures().failed == ()  # stepped aside ...
    world.clock.advance(FAILED_TIMER_RETRY)
    assert world.run_captures().failed == ("tmr_capture_broken",)  # ... and tried again later
