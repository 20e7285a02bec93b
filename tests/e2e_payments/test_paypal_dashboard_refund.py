"""A refund made in PayPal's dashboard, tried as a new user would: the sandbox on the
local fakes, everything through the HTTP API. The refund webhook carries none of our ids
(no ``custom_id``, no ``invoice_id``) and names only the capture (its "up" link); the
payment learnt its capture id from the charge answer, so the refund is booked, once, and
the wallet debited once, though the webhook arrives twice (and once more as another
event)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .conftest import Sandbox

ROUTES = "EUR/GB=paypal,stripe,adyen"


def test_a_paypal_dashboard_refund_is_booked_once_when_its_webhook_arrives_twice(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    sb = make_sandbox(payment_routes=ROUTES)
    client = sb.user("dora")
    paypal = sb.fakes.paypal
    started = sb.top_up(client, 2_000, country="GB", method="paypal", payment_token="vault_1")
    assert (started["status"], started["provider"]) == ("captured", "paypal")
    assert sb.balance(client) == 2_000
    order = paypal.orders[started["provider_reference"]]
    [capture] = order["purchase_units"][0]["payments"]["captures"]

    # The merchant refunds 6.50 in PayPal's dashboard: gigcore never asked for it.
    refund = paypal.dashboard_refund(capture["id"], "6.50")
    assert "custom_id" not in refund and "invoice_id" not in refund
    event = paypal.event("PAYMENT.CAPTURE.REFUNDED", refund)
    again_as_another_event = paypal.event("PAYMENT.CAPTURE.REFUNDED", refund)

    def deliver(e: dict[str, Any]) -> None:
        answer = sb.webhook("paypal", json.dumps(e).encode(), paypal.signed_headers(e))
        assert answer.status_code == 200, answer.text

    deliver(event)
    deliver(event)
    sb.settle()
    deliver(again_as_another_event)
    sb.settle()

    payment = sb.payment(client, started["payment_id"])
    assert payment["status"] == "partially_refunded"
    assert [(r["amount"]["minor"], r["status"], r["provider_reference"]) for r in payment["refunds"]] == [
        (650, "succeeded", refund["id"])
    ]
    assert sb.balance(client) == 1_350
