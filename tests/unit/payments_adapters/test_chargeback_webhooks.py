"""Chargebacks (disputes, reversals) from each provider become one normalised kind,
``ProviderEventKind.CHARGEBACK``, carrying the disputed amount and what names the payment."""

from __future__ import annotations

import json
from typing import Any

from adapters.payments.paypal_webhooks import event_from as paypal_event
from core.payments.domain import ProviderEventKind
from core.shared.money import Money
from tests.unit.payments_adapters.test_adyen_webhooks import an_item, batch
from tests.unit.payments_adapters.test_adyen_webhooks import verify as adyen_verify
from tests.unit.payments_adapters.test_stripe_webhooks import T, signature
from tests.unit.payments_adapters.test_stripe_webhooks import verify as stripe_verify


def _stripe_dispute(**data: object) -> bytes:
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 1050,
        "currency": "eur",
        "charge": "ch_1",
        "payment_intent": "pi_123",
        "reason": "fraudulent",
        "status": "needs_response",
        **data,
    }
    return json.dumps(
        {"id": "evt_dp", "object": "event", "type": "charge.dispute.created", "created": T, "data": {"object": dispute}}
    ).encode()


def test_a_stripe_dispute_is_a_chargeback_on_its_payment_intent() -> None:
    body = _stripe_dispute()
    [event] = stripe_verify(body, signature(body))
    assert event.kind is ProviderEventKind.CHARGEBACK
    assert (event.provider_reference, event.amount, event.reason) == ("pi_123", Money.of(1050, "EUR"), "fraudulent")


def test_an_adyen_chargeback_names_the_original_payment() -> None:
    item = an_item("CHARGEBACK", psp="9915555555555555", original="8815000000000001", value=700)
    [event] = adyen_verify(batch(item))
    assert event.kind is ProviderEventKind.CHARGEBACK
    assert (event.provider_reference, event.payment_id, event.amount) == (
        "8815000000000001",
        "pay_abc",
        Money.of(700, "EUR"),
    )
    assert event.provider_event_id == "9915555555555555:CHARGEBACK:true"


def _paypal(event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"id": "WH-9", "create_time": "2026-11-27T12:00:00Z", "event_type": event_type, "resource": resource}


def test_a_paypal_dispute_is_a_chargeback_on_the_payment_its_capture_carried() -> None:
    event = paypal_event(
        _paypal(
            "CUSTOMER.DISPUTE.CREATED",
            {
                "dispute_id": "PP-D-1",
                "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                "dispute_amount": {"currency_code": "EUR", "value": "10.50"},
                "disputed_transactions": [{"seller_transaction_id": "CAP1", "custom": "pay_abc"}],
            },
        )
    )
    assert event.kind is ProviderEventKind.CHARGEBACK
    assert (event.payment_id, event.provider_reference, event.amount) == ("pay_abc", "CAP1", Money.of(1050, "EUR"))


def test_a_paypal_capture_reversal_is_a_chargeback_even_with_a_debit_amount() -> None:
    event = paypal_event(
        _paypal(
            "PAYMENT.CAPTURE.REVERSED",
            {
                "id": "CAP1",
                "status": "REVERSED",
                "amount": {"currency_code": "EUR", "value": "-3.00"},
                "custom_id": "pay_abc",
                "supplementary_data": {"related_ids": {"order_id": "ORD1"}},
            },
        )
    )
    assert event.kind is ProviderEventKind.CHARGEBACK
    assert (event.payment_id, event.provider_reference, event.amount) == ("pay_abc", "ORD1", Money.of(300, "EUR"))
