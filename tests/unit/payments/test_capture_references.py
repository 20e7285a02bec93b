"""A payment learns its capture's id at the provider (PayPal: the order's capture), and a
refund event that names only the capture (a refund made in PayPal's dashboard) finds its
payment by it: booked once, however often it is delivered."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from core.payments.domain import (
    ChargeResult,
    PaymentId,
    PaymentMethod,
    PaymentNotFound,
    PaymentPurpose,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    ProviderStatus,
    RefundStatus,
)
from core.payments.domain import Payment as PaymentAggregate
from core.shared.money import Money
from tests.unit.payments.world import PaymentsWorld, client, eur


def _event(
    event_id: str,
    kind: ProviderEventKind,
    *,
    at: datetime,
    reference: str | None = None,
    capture: str | None = None,
    payment_id: PaymentId | None = None,
    amount: Money | None = None,
    refund_reference: str | None = None,
) -> ProviderEvent:
    return ProviderEvent(
        provider="paypal",
        provider_event_id=event_id,
        kind=kind,
        provider_reference=reference,
        occurred_at=at,
        payment_id=payment_id,
        amount=amount,
        refund_reference=refund_reference,
        capture_reference=capture,
    )


def _paypal_top_up(world: PaymentsWorld, minor: int = 1_000) -> tuple[PaymentId, str]:
    view = world.top_up(client(), minor, method=PaymentMethod.PAYPAL)
    assert view.provider == "paypal" and view.provider_reference is not None
    return view.payment_id, view.provider_reference


def test_the_charge_answer_teaches_the_payment_its_capture_once() -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    payment = PaymentAggregate.start(
        payer_id="usr_1",
        purpose=PaymentPurpose.WALLET_TOP_UP,
        amount=eur(500),
        method=PaymentMethod.PAYPAL,
        country="DE",
        at=at,
    )
    payment.route_to("paypal")
    answer = ChargeResult(
        provider="paypal",
        provider_reference="ORD1",
        status=ProviderStatus.CAPTURED,
        amount=eur(500),
        capture_reference="CAP1",
    )
    payment.answered(answer, at=at)
    assert (payment.provider_reference, payment.capture_reference) == ("ORD1", "CAP1")
    payment.answered(attrs.evolve(answer, capture_reference="CAP2"), at=at)
    assert payment.capture_reference == "CAP1"  # the first one told stays


def test_a_capture_webhook_teaches_the_payment_its_capture() -> None:
    world = PaymentsWorld(("paypal",))
    payment_id, order = _paypal_top_up(world)
    assert world.payment(payment_id).capture_reference is None  # the fake's answer names none
    world.deliver(
        _event("WH-C1", ProviderEventKind.PAYMENT_CAPTURED, at=world.clock.now(), reference=order, capture="CAP1")
    )
    assert world.payment(payment_id).capture_reference == "CAP1"


def test_a_dashboard_refund_naming_only_the_capture_is_booked_once_however_often_delivered() -> None:
    world, alice = PaymentsWorld(("paypal",)), client()
    payment_id, order = _paypal_top_up(world)
    now = world.clock.now()
    world.deliver(_event("WH-C1", ProviderEventKind.PAYMENT_CAPTURED, at=now, reference=order, capture="CAP1"))
    assert world.wallet_balance(alice) == 1_000
    refunded = _event(
        "WH-R1", ProviderEventKind.PAYMENT_REFUNDED, at=now, capture="CAP1", amount=eur(300), refund_reference="REF1"
    )
    world.deliver(refunded)
    world.deliver(refunded)  # the same delivery again
    world.deliver(  # the same refund under another event (PAYMENT.REFUND.COMPLETED)
        _event(
            "WH-R2",
            ProviderEventKind.PAYMENT_REFUNDED,
            at=now,
            capture="CAP1",
            amount=eur(300),
            refund_reference="REF1",
        )
    )
    payment = world.payment(payment_id)
    assert [(r.provider_reference, r.amount, r.status, r.requested_by) for r in payment.refunds] == [
        ("REF1", eur(300), RefundStatus.SUCCEEDED, "provider")
    ]
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert world.wallet_balance(alice) == 700
    assert world.entries_of_kind("payment_refund") == 1


def test_a_refund_naming_a_capture_we_do_not_know_finds_no_payment() -> None:
    world = PaymentsWorld(("paypal",))
    payment_id, order = _paypal_top_up(world)
    now = world.clock.now()
    world.deliver(_event("WH-C1", ProviderEventKind.PAYMENT_CAPTURED, at=now, reference=order, capture="CAP1"))
    with pytest.raises(PaymentNotFound):
        world.deliver(
            _event(
                "WH-R9",
                ProviderEventKind.PAYMENT_REFUNDED,
                at=now,
                capture="CAP-OTHER",
                amount=eur(100),
                refund_reference="R9",
            )
        )
    assert world.payment(payment_id).refunds == []
