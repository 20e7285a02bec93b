"""A refund event that names only the capture (a PayPal dashboard refund) and arrives
before the payment knows its capture id waits in the inbox; whatever then teaches the
payment the capture id (a capture webhook, the charge's answer, our capture's answer, the
janitor's lookup) applies it in the same transaction, once."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from core.payments.domain import (
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    PaymentId,
    PaymentMethod,
    PaymentNotFound,
    PaymentStatus,
    PaymentView,
    ProviderEvent,
    ProviderEventKind,
    ProviderPayment,
    ProviderStatus,
    RefundStatus,
    resolve_delay,
)
from tests.unit.payments.world import PaymentsWorld, client, eur

CAPTURE = "CAP-LATE-1"


def _refund(world: PaymentsWorld, event_id: str = "WH-R1") -> ProviderEvent:
    return ProviderEvent(
        provider="paypal",
        provider_event_id=event_id,
        kind=ProviderEventKind.PAYMENT_REFUNDED,
        provider_reference=None,
        occurred_at=world.clock.now(),
        amount=eur(300),
        refund_reference="REF-LATE-1",
        capture_reference=CAPTURE,
    )


def _arrives_first(world: PaymentsWorld, event: ProviderEvent) -> None:
    """The webhook is received (stored) but names no payment we know yet."""
    with pytest.raises(PaymentNotFound):
        world.deliver(event)
    with world.uow() as uow:
        stored = uow.provider_events.get("paypal", event.provider_event_id)
    assert stored is not None and stored.applied_at is None


def _refunded_once(world: PaymentsWorld, payment_id: PaymentId) -> None:
    payment = world.payment(payment_id)
    assert payment.capture_reference == CAPTURE
    assert [(r.provider_reference, r.amount, r.status) for r in payment.refunds] == [
        ("REF-LATE-1", eur(300), RefundStatus.SUCCEEDED)
    ]
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert world.wallet_balance(client()) == 700
    assert world.entries_of_kind("payment_refund") == 1
    with world.uow() as uow:
        stored = uow.provider_events.get("paypal", "WH-R1")
        assert stored is not None and stored.outcome == "applied"
        assert uow.provider_events.unapplied_for_capture("paypal", CAPTURE) == []


def _wrap(target: object, name: str, after: Callable[..., object]) -> None:
    """Replace ``target.name`` by a call that passes the real answer through ``after``."""
    real = getattr(target, name)
    setattr(target, name, lambda request: after(request, real(request)))


def test_a_capture_webhook_applies_the_refund_that_waited_for_its_capture() -> None:
    world = PaymentsWorld(("paypal",))
    view = world.top_up(client(), 1_000, method=PaymentMethod.PAYPAL)
    assert view.provider_reference is not None and world.payment(view.payment_id).capture_reference is None
    _arrives_first(world, _refund(world))

    world.deliver(
        ProviderEvent(
            provider="paypal",
            provider_event_id="WH-C1",
            kind=ProviderEventKind.PAYMENT_CAPTURED,
            provider_reference=view.provider_reference,
            occurred_at=world.clock.now(),
            capture_reference=CAPTURE,
        )
    )
    _refunded_once(world, view.payment_id)

    world.deliver(_refund(world))  # redelivered: applied already
    world.deliver(attrs.evolve(_refund(world), provider_event_id="WH-R2"))  # the same refund, another event
    _refunded_once(world, view.payment_id)


def test_the_charge_answer_applies_a_refund_that_overtook_it() -> None:
    world = PaymentsWorld(("paypal",))
    gateway = world.gateways["paypal"]

    def answered(_request: ChargeRequest, result: ChargeResult) -> ChargeResult:
        _arrives_first(world, _refund(world))  # the webhook overtakes the answer
        return attrs.evolve(result, capture_reference=CAPTURE)

    _wrap(gateway, "charge", answered)
    view = world.top_up(client(), 1_000, method=PaymentMethod.PAYPAL)
    _refunded_once(world, view.payment_id)


def test_our_capture_answer_applies_a_refund_that_overtook_it() -> None:
    world = PaymentsWorld(("paypal",))
    gateway = world.gateways["paypal"]
    gateway.next_status = ProviderStatus.AUTHORIZED
    view = world.top_up(client(), 1_000, method=PaymentMethod.PAYPAL)
    assert view.status is PaymentStatus.AUTHORIZED

    def captured(_request: CaptureRequest, result: ChargeResult) -> ChargeResult:
        _arrives_first(world, _refund(world))
        return attrs.evolve(result, capture_reference=CAPTURE)

    _wrap(gateway, "capture", captured)
    assert isinstance(world.capture(client(), view.payment_id), PaymentView)
    _refunded_once(world, view.payment_id)


def test_the_janitors_lookup_applies_a_refund_that_waited_for_the_capture() -> None:
    world = PaymentsWorld(("paypal",))
    gateway = world.gateways["paypal"]
    gateway.lose_answers = 1
    view = world.top_up(client(), 1_000, method=PaymentMethod.PAYPAL)
    assert view.status is PaymentStatus.UNKNOWN
    _arrives_first(world, _refund(world))

    real_lookup = gateway.lookup

    def lookup(payment_id: PaymentId, reference: str | None) -> ProviderPayment | None:
        found = real_lookup(payment_id, reference)
        return None if found is None else attrs.evolve(found, capture_reference=CAPTURE)

    gateway.lookup = lookup  # type: ignore[method-assign,assignment]
    world.clock.advance(resolve_delay(0))
    world.run_janitor()
    _refunded_once(world, view.payment_id)
