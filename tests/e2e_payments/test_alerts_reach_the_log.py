"""An alert is logged once, as one structured WARNING line, whoever delivers it how often."""

from __future__ import annotations

import json
from collections.abc import Callable

from structlog.testing import capture_logs

from tests.fakes.providers import Fault
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET, sign

from .conftest import Sandbox, now_ts


def test_a_short_capture_is_credited_as_taken_and_its_alert_logged_once(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(payment_routes="EUR=stripe")
    client = sb.user("sam")
    sb.fakes.stripe.fail_next(Fault.SERVER_ERROR)  # charged, the answer lost
    started = sb.top_up(client, 2_500, payment_token="pm_card_visa")
    assert started["status"] == "unknown"
    [intent] = sb.fakes.stripe.intents.values()
    # Stripe reports taking less than asked (a partial capture).
    event = sb.fakes.stripe.event("payment_intent.succeeded", {**intent, "amount_received": 2_000})
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": sign(body, TEST_WEBHOOK_SECRET, now_ts()), "Content-Type": "application/json"}

    with capture_logs() as logs:
        for _ in range(2):
            assert sb.webhook("stripe", body, headers).status_code == 200
        sb.settle()
        sb.settle()

    payment = sb.payment(client, started["payment_id"])
    assert (payment["status"], payment["credited"]["minor"]) == ("captured", 2_000)
    assert sb.balance(client) == 2_000
    alerts = [line for line in logs if line.get("event") == "payment alert"]
    assert len(alerts) == 1, alerts
    [alert] = alerts
    assert alert["log_level"] == "warning"
    assert (alert["kind"], alert["provider"], alert["payment_id"]) == (
        "captured_amount_mismatch",
        "stripe",
        started["payment_id"],
    )
    assert started["payment_id"] in alert["summary"]
