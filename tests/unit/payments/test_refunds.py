from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ledger.domain import InsufficientFunds
from core.payments.domain import (
    EscrowTarget,
    PaymentNotCaptured,
    PaymentStatus,
    ProviderEventKind,
    ProviderStatus,
    RefundExceedsCaptured,
    RefundStatus,
)
from core.shared.actor import Persona
from core.shared.authorization import Forbidden
from core.shared.gateways import GatewayOutcomeUnknown
from tests.unit.payments.world import PaymentsWorld, client, eur, operator, provider_event


def test_a_partial_then_the_rest_refunds_the_payment_fully() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    first = world.refund(view.payment_id, 300)
    assert first.status is RefundStatus.SUCCEEDED
    assert first.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    second = world.refund(view.payment_id, 700)
    assert second.payment.status is PaymentStatus.REFUNDED
    assert world.wallet_balance(alice) == 0
    assert world.clearing_balance("stripe") == 0
    [charge] = world.gateways["stripe"].charges.values()
    assert charge.refunded == 1_000


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    world.refund(view.payment_id, 600)
    with pytest.raises(RefundExceedsCaptured):
        world.refund(view.payment_id, 401)
    assert world.wallet_balance(alice) == 400
    assert len(world.gateways["stripe"].refunds) == 1


def test_an_uncaptured_payment_cannot_be_refunded() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.AUTHORIZED
    view = world.top_up(alice, 1_000)
    with pytest.raises(PaymentNotCaptured):
        world.refund(view.payment_id, 100)


def test_a_refund_of_money_already_spent_is_refused() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    # A provider-reported (dashboard) refund already took most of the wallet.
    world.deliver(
        provider_event(
            "stripe",
            "evt_dash",
            ProviderEventKind.PAYMENT_REFUNDED,
            view.provider_reference,
            at=world.clock.now(),
            amount=eur(900),
            refund_reference="re_dash",
        )
    )
    assert world.wallet_balance(alice) == 100
    with pytest.raises(RefundExceedsCaptured):
        world.refund(view.payment_id, 200)


def test_a_refund_of_money_the_payer_spent_is_refused_before_the_provider_is_asked() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    with world.uow() as uow:  # alice funds something with 800 of it
        now = world.clock.now()
        wallet = uow.book.account(owner_id=alice.id, kind="wallet", currency=eur(0).currency, at=now)
        other = uow.book.account(owner_id="usr_bob", kind="wallet", currency=eur(0).currency, at=now)
        uow.book.post(
            kind="transfer", memo="spent", initiated_by=alice.ref, legs=[(wallet, eur(-800)), (other, eur(800))], at=now
        )
        uow.commit()
    with pytest.raises(InsufficientFunds):
        world.refund(view.payment_id, 500)
    assert world.gateways["stripe"].refunds == {}
    assert world.payment(view.payment_id).refunds == []


def test_a_declined_refund_returns_the_money_to_the_wallet() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    world.gateways["stripe"].charges[view.provider_reference or ""].refunded = 1_000  # refunded elsewhere
    result = world.refund(view.payment_id, 500)
    assert result.status is RefundStatus.FAILED
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind("payment_refund_reversal") == 1


def test_a_refund_whose_answer_is_lost_stays_pending_and_its_webhook_finishes_it_once() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    world.gateways["stripe"].lose_answers = 1
    with pytest.raises(GatewayOutcomeUnknown):
        world.refund(view.payment_id, 250)
    assert world.wallet_balance(alice) == 750  # reserved at the intent
    [refund] = world.gateways["stripe"].refunds.values()
    world.deliver(
        provider_event(
            "stripe",
            "evt_re",
            ProviderEventKind.PAYMENT_REFUNDED,
            view.provider_reference,
            at=world.clock.now(),
            amount=eur(250),
            refund_reference=refund.reference,
            refund_id=refund.refund_id,
        )
    )
    payment = world.payment(view.payment_id)
    assert [r.status for r in payment.refunds] == [RefundStatus.SUCCEEDED]
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert world.wallet_balance(alice) == 750
    assert world.entries_of_kind("payment_refund") == 1


def test_clients_cannot_refund() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    with pytest.raises(Forbidden):
        world.refund(view.payment_id, 100, by=alice)
    world.refund(view.payment_id, 100, by=operator(Persona.FINANCE))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 1_500), min_size=1, max_size=6))
def test_refunds_never_exceed_what_was_captured(amounts: list[int]) -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 2_000)
    accepted = 0
    for minor in amounts:
        try:
            world.refund(view.payment_id, minor)
        except RefundExceedsCaptured:
            assert accepted + minor > 2_000
        else:
            accepted += minor
    payment = world.payment(view.payment_id)
    assert payment.refunded.minor == accepted <= 2_000
    assert world.wallet_balance(alice) == 2_000 - accepted


# --- the hold-deadline guard ----------------------------------------------------------


def test_an_escrow_funding_carries_the_providers_hold_deadline_and_alerts_before_it() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 5_000, escrow=EscrowTarget(contract_id="ctr_1", milestone_id="mil_1"))
    payment = world.payment(view.payment_id)
    assert payment.hold_deadline == payment.captured_at + timedelta(days=90)  # type: ignore[operator]
    [captured] = world.events_named("payments.payment_captured")
    assert captured.escrow == EscrowTarget(contract_id="ctr_1", milestone_id="mil_1")  # type: ignore[attr-defined]
    world.clock.advance(timedelta(days=82))
    world.run_hold_guard()
    assert world.events_named("payments.alert_raised") == []
    world.clock.advance(timedelta(days=1))
    world.run_hold_guard()
    world.run_hold_guard()
    [alert] = world.events_named("payments.alert_raised")
    assert "mil_1" in alert.summary  # type: ignore[attr-defined]


def test_a_top_up_has_no_hold_deadline() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 5_000)
    assert world.payment(view.payment_id).hold_deadline is None
