"""Third review of payments' money: the ledger credits only what a provider captured, a
refund is matched to ours by ids only, and a refund event in another currency is an alert,
not a poison message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.messaging.use_cases.handle_event import HandleEvent
from core.payments.domain import (
    AlertKind,
    PaymentStatus,
    ProviderEventKind,
    ProviderStatus,
    RefundExceedsCaptured,
    RefundStatus,
    resolve_delay,
)
from core.payments.use_cases.apply_provider_event import ProviderEventsConsumer
from core.payments.use_cases.receive_provider_events import WEBHOOKS, ReceiveProviderEventsCommand
from core.shared.gateways import GatewayOutcomeUnknown
from core.shared.ids import correlation_id
from core.shared.money import Money
from tests.unit.payments.world import PaymentsWorld, client, eur, provider_event


def _alert_kinds(world: PaymentsWorld) -> list[AlertKind]:
    return [a.kind for a in world.events_named("payments.alert_raised")]  # type: ignore[attr-defined]


def _captured(world: PaymentsWorld, reference: str | None, amount: Money, event_id: str = "evt_cap") -> None:
    world.deliver(
        provider_event(
            "stripe", event_id, ProviderEventKind.PAYMENT_CAPTURED, reference, at=world.clock.now(), amount=amount
        )
    )


# --- 1. the capture credits what the provider took, never more than the intent ----------


def test_a_capture_short_of_the_intent_credits_only_what_was_captured() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 1_000)
    _captured(world, view.provider_reference, eur(900))
    payment = world.payment(view.payment_id)
    assert payment.status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 900
    assert world.clearing_balance("stripe") == -900
    assert _alert_kinds(world) == [AlertKind.CAPTURED_AMOUNT_MISMATCH]
    [captured] = world.events_named("payments.payment_captured")
    assert captured.amount == eur(900)  # type: ignore[attr-defined]


def test_a_capture_above_the_intent_credits_the_intent_and_alerts() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 1_000)
    _captured(world, view.provider_reference, eur(1_250))
    assert world.wallet_balance(alice) == 1_000  # the excess stays in clearing for finance
    assert world.clearing_balance("stripe") == -1_000
    assert _alert_kinds(world) == [AlertKind.CAPTURED_AMOUNT_MISMATCH]


def test_a_capture_in_another_currency_credits_nothing_and_alerts() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 1_000)
    _captured(world, view.provider_reference, Money.of(1_000, "USD"))
    assert world.wallet_balance(alice) == 0
    assert world.entries_of_kind("payment_capture") == 0
    assert _alert_kinds(world) == [AlertKind.CAPTURED_AMOUNT_MISMATCH]


def test_a_repeated_short_capture_event_credits_once() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 1_000)
    _captured(world, view.provider_reference, eur(900), "evt_cap_1")
    _captured(world, view.provider_reference, eur(900), "evt_cap_2")
    assert world.wallet_balance(alice) == 900
    assert world.entries_of_kind("payment_capture") == 1


def test_refunds_of_a_short_capture_are_bounded_by_what_was_credited() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    world.gateways["stripe"].capture_next_minor = 900  # the provider itself holds only 900
    view = world.top_up(alice, 1_000)
    _captured(world, view.provider_reference, eur(900))
    with pytest.raises(RefundExceedsCaptured):
        world.refund(view.payment_id, 950)
    assert world.wallet_balance(alice) == 900
    world.refund(view.payment_id, 900)
    payment = world.payment(view.payment_id)
    assert payment.status is PaymentStatus.REFUNDED
    assert payment.refundable == eur(0)
    assert world.wallet_balance(alice) == 0
    assert world.clearing_balance("stripe") == 0


def test_the_janitor_credits_what_the_lookup_says_was_captured() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].lose_answers = 1
    world.gateways["stripe"].capture_next_minor = 800
    view = world.top_up(alice, 1_000)
    assert view.status is PaymentStatus.UNKNOWN
    world.clock.advance(resolve_delay(0))
    world.run_janitor()
    payment = world.payment(view.payment_id)
    assert payment.status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 800
    assert payment.refundable == eur(800)
    assert _alert_kinds(world) == [AlertKind.CAPTURED_AMOUNT_MISMATCH]
    world.clock.advance(timedelta(days=2))
    world.run_janitor()
    assert world.entries_of_kind("payment_capture") == 1


# --- 2. a dashboard refund is never taken for our pending one ---------------------------


def test_a_dashboard_refund_of_the_same_amount_is_not_taken_for_our_pending_refund() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    world.gateways["stripe"].lose_answers = 1
    with pytest.raises(GatewayOutcomeUnknown):
        world.refund(view.payment_id, 250)  # ours: pending, its answer lost
    [ours] = world.payment(view.payment_id).refunds
    world.deliver(  # someone refunds 250 in stripe's dashboard: no refund id of ours
        provider_event(
            "stripe",
            "evt_dash",
            ProviderEventKind.PAYMENT_REFUNDED,
            view.provider_reference,
            at=world.clock.now(),
            amount=eur(250),
            refund_reference="re_dashboard",
        )
    )
    payment = world.payment(view.payment_id)
    assert payment.refund(ours.id).status is RefundStatus.PENDING
    assert sorted(r.provider_reference or "" for r in payment.refunds) == ["", "re_dashboard"]
    assert world.wallet_balance(alice) == 500  # two refunds of 250 left the wallet: both real
    [sent] = world.gateways["stripe"].refunds.values()
    world.deliver(
        provider_event(
            "stripe",
            "evt_ours",
            ProviderEventKind.PAYMENT_REFUNDED,
            view.provider_reference,
            at=world.clock.now(),
            amount=eur(250),
            refund_reference=sent.reference,
            refund_id=sent.refund_id,
        )
    )
    payment = world.payment(view.payment_id)
    assert [r.status for r in payment.refunds] == [RefundStatus.SUCCEEDED, RefundStatus.SUCCEEDED]
    assert world.wallet_balance(alice) == 500
    assert world.entries_of_kind("payment_refund") == 2


# --- 3. a refund event in another currency ---------------------------------------------


def test_a_refund_event_in_another_currency_is_an_alert_and_is_applied_once() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    event = provider_event(
        "stripe",
        "evt_usd",
        ProviderEventKind.PAYMENT_REFUNDED,
        view.provider_reference,
        at=world.clock.now(),
        amount=Money.of(300, "USD"),
        refund_reference="re_usd",
    )
    world.receive(
        ReceiveProviderEventsCommand(
            by=WEBHOOKS, correlation_id=correlation_id(None), provider="stripe", events=(event,)
        )
    )
    [row] = [r for r in world.store.outbox if r.event.name == "payments.provider_event_received"]
    consumer = ProviderEventsConsumer(world.clock, world.routing)
    handle = HandleEvent(world.uow, [consumer], world.clock)
    handle(consumer.name, row.envelope())  # raised before: redelivered until dead-lettered
    with world.uow() as uow:
        stored = uow.provider_events.get("stripe", "evt_usd")
    assert stored is not None and stored.applied_at is not None
    assert stored.outcome == "rejected"
    payment = world.payment(view.payment_id)
    assert payment.refunds == []
    assert payment.status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_000
    assert _alert_kinds(world) == [AlertKind.REFUND_CURRENCY_MISMATCH]


def test_a_charge_answer_that_captured_less_credits_only_what_was_captured() -> None:
    # The provider answers the charge call itself with "captured", for less than asked.
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].capture_next_minor = 900
    view = world.top_up(alice, 1_000)
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 900
    assert world.clearing_balance("stripe") == -900
    assert _alert_kinds(world) == [AlertKind.CAPTURED_AMOUNT_MISMATCH]
