"""Second review: a provider switched off (``GIGCORE_PAYMENT_PROVIDERS``) while payments
through it are still open. Nothing may crash with a KeyError (a 500, or a janitor round that
stalls every other payment), and no money may move for a provider we cannot call."""

from __future__ import annotations

import pytest

from core.payments.domain import (
    ChargeRequest,
    ChargeResult,
    NoProviderAvailable,
    PaymentStatus,
    Route,
    RoutingPolicy,
    resolve_delay,
)
from core.payments.use_cases.refund_payment import RefundPayment, RefundPaymentCommand
from core.payments.use_cases.resolve_unknown_payments import ResolveUnknownPayments
from core.payments.use_cases.routing import Router
from core.payments.use_cases.start_top_up import StartTopUp
from core.shared.ids import correlation_id
from tests.unit.payments.world import PaymentsWorld, client, eur, key, operator


def _world() -> PaymentsWorld:
    return PaymentsWorld(
        routes=(
            Route(provider="stripe", priority=0, currencies=frozenset({"EUR"})),
            Route(provider="adyen", priority=1, currencies=frozenset({"USD"})),
        )
    )


def test_the_janitor_goes_on_with_other_payments_when_one_provider_is_switched_off() -> None:
    world, alice = _world(), client()
    world.gateways["stripe"].lose_answers = 1
    world.gateways["adyen"].lose_answers = 1
    through_stripe = world.top_up(alice, 700)
    through_adyen = world.top_up(alice, 900, currency="USD")
    assert (through_stripe.status, through_adyen.status) == (PaymentStatus.UNKNOWN, PaymentStatus.UNKNOWN)
    # Restarted with stripe switched off: only adyen has a gateway now.
    router = Router(
        RoutingPolicy(routes=(Route(provider="adyen", currencies=frozenset({"USD"})),)),
        {"adyen": world.gateways["adyen"]},
        world.routing_state,
    )
    janitor = ResolveUnknownPayments(world.uow, world.authorizer, world.clock, router)
    world.resolve = janitor
    world.clock.advance(resolve_delay(0))
    result = world.run_janitor()
    assert world.payment(through_adyen.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice, "USD") == 900
    # Stripe's payment stays unresolved (it may have been charged) and is asked again later.
    assert world.payment(through_stripe.payment_id).status is PaymentStatus.UNKNOWN
    assert sorted(r.outcome for r in result.resolved) == ["resolved", "retry"]


def test_a_refund_through_a_switched_off_provider_is_refused_before_the_wallet_is_debited() -> None:
    world, alice = _world(), client()
    view = world.top_up(alice, 1_000)
    refund = RefundPayment(world.uow, world.authorizer, world.clock, {"adyen": world.gateways["adyen"]})
    with pytest.raises(NoProviderAvailable):
        refund(
            RefundPaymentCommand(
                by=operator(),
                idempotency_key=key(),
                correlation_id=correlation_id(None),
                payment_id=view.payment_id,
                amount=eur(400),
                reason="customer asked",
            )
        )
    assert world.wallet_balance(alice) == 1_000
    assert world.payment(view.payment_id).refunds == []


def test_replaying_a_top_up_whose_provider_was_switched_off_charges_nothing_and_does_not_crash() -> None:
    world, alice = _world(), client()
    k = key()

    def crash(_request: ChargeRequest) -> ChargeResult:
        raise RuntimeError("the process died before the charge was sent")

    world.gateways["stripe"].charge = crash  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        world.top_up(alice, 700, k=k)
    router = Router(
        RoutingPolicy(routes=(Route(provider="adyen", currencies=frozenset({"USD"})),)),
        {"adyen": world.gateways["adyen"]},
        world.routing_state,
    )
    world.start_top_up = StartTopUp(world.uow, world.authorizer, world.clock, router)
    view = world.top_up(alice, 700, k=k)  # the client's retry with the same key
    assert view.status is PaymentStatus.CREATED  # left to the janitor, never charged elsewhere
    assert world.gateways["adyen"].calls == 0
