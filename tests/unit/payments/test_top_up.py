from __future__ import annotations

from datetime import timedelta

import pytest

from core.payments.domain import (
    NoProviderConfigured,
    PaymentMethod,
    PaymentStatus,
    ProviderEventKind,
    ProviderStatus,
)
from core.shared.actor import Persona
from core.shared.authorization import Forbidden
from tests.unit.payments.world import PaymentsWorld, client, eur, key, operator, provider_event


def test_a_captured_top_up_credits_the_wallet_from_the_providers_clearing_account() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 2_500)
    assert view.status is PaymentStatus.CAPTURED
    assert view.provider == "stripe"
    assert world.wallet_balance(alice) == 2_500
    assert world.clearing_balance("stripe") == -2_500
    assert world.entries_of_kind("payment_capture") == 1


def test_the_charge_is_sent_with_a_key_derived_from_the_payment_id() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 100)
    [charge] = world.gateways["stripe"].charged(view.payment_id)
    assert charge.key == f"{view.payment_id}:charge"


def test_replaying_the_top_up_key_returns_the_same_payment_and_charges_once() -> None:
    world, alice, k = PaymentsWorld(), client(), key()
    first = world.top_up(alice, 700, k=k)
    again = world.top_up(alice, 700, k=k)
    assert again.payment_id == first.payment_id
    assert len(world.gateways["stripe"].charges) == 1
    assert world.wallet_balance(alice) == 700


def test_a_declined_charge_fails_the_payment_and_moves_no_money() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].decline_next("insufficient_funds")
    view = world.top_up(alice, 900)
    assert view.status is PaymentStatus.FAILED
    assert view.failure_reason == "insufficient_funds"
    assert world.wallet_balance(alice) == 0
    assert len(world.gateways["adyen"].charges) == 0  # a decline is final: no fallback


def test_webhook_delivered_three_times_and_out_of_order_credits_the_wallet_once() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.REQUIRES_ACTION
    view = world.top_up(alice, 4_000)
    assert view.status is PaymentStatus.REQUIRES_ACTION
    assert view.client_action is not None
    ref, now = view.provider_reference, world.clock.now()
    captured = provider_event(
        "stripe", "evt_2", ProviderEventKind.PAYMENT_CAPTURED, ref, at=now + timedelta(seconds=2), amount=eur(4_000)
    )
    authorized = provider_event(
        "stripe", "evt_1", ProviderEventKind.PAYMENT_AUTHORIZED, ref, at=now + timedelta(seconds=1)
    )
    world.deliver(captured)
    world.deliver(authorized)  # late: must not regress the capture
    world.deliver(captured)
    world.deliver(captured, authorized)
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 4_000
    assert world.entries_of_kind("payment_capture") == 1
    assert len(world.events_named("payments.payment_captured")) == 1


def test_an_event_that_overtakes_the_charge_answer_is_applied_when_the_answer_is_recorded() -> None:
    world, alice = PaymentsWorld(), client()
    gateway = world.gateways["stripe"]
    gateway.next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 300)
    assert view.status is PaymentStatus.CREATED
    assert view.provider_reference is not None
    world.deliver(
        provider_event(
            "stripe", "evt_cap", ProviderEventKind.PAYMENT_CAPTURED, view.provider_reference, at=world.clock.now()
        )
    )
    assert world.wallet_balance(alice) == 300


def test_a_payment_id_echoed_by_the_provider_finds_the_payment_without_a_reference() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].lose_answers = 1
    view = world.top_up(alice, 800)
    assert view.status is PaymentStatus.UNKNOWN
    world.deliver(
        provider_event(
            "stripe",
            "evt_x",
            ProviderEventKind.PAYMENT_CAPTURED,
            "stripe_ch_0001",
            at=world.clock.now(),
            payment_id=view.payment_id,
        )
    )
    payment = world.payment(view.payment_id)
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.provider_reference == "stripe_ch_0001"
    assert world.wallet_balance(alice) == 800


def test_only_clients_top_up() -> None:
    world = PaymentsWorld()
    with pytest.raises(Forbidden):
        world.top_up(operator(Persona.FINANCE), 100)


def test_a_currency_no_provider_takes_is_refused_before_anything_is_stored() -> None:
    from core.payments.domain import Route

    world = PaymentsWorld(routes=(Route(provider="stripe", currencies=frozenset({"USD"})),))
    with pytest.raises(NoProviderConfigured):
        world.top_up(client(), 100, method=PaymentMethod.CARD)
    assert world.store.payments_tables.payments == {}


def test_a_payment_is_visible_to_its_payer_and_staff_but_hidden_from_other_clients() -> None:
    from core.payments.domain import PaymentNotFound
    from core.payments.use_cases.get_payment import GetPayment, GetPaymentQuery

    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 100)
    get = GetPayment(world.uow, world.authorizer)
    assert get(GetPaymentQuery(by=alice, payment_id=view.payment_id)).status is PaymentStatus.CAPTURED
    assert get(GetPaymentQuery(by=operator(Persona.SUPPORT), payment_id=view.payment_id)).payer_id == alice.id
    with pytest.raises(PaymentNotFound):
        get(GetPaymentQuery(by=client("bob"), payment_id=view.payment_id))
