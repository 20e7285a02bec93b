"""The webhook routes' contract beyond fuzzing: no bearer token needed, valid deliveries
acknowledged fast (Adyen with `[accepted]`) and deduplicated, rejected ones a 400 problem,
the body size limit, and a provider that is not enabled is a 404."""

from __future__ import annotations

import json
import time

from litestar.testing import TestClient

from entrypoints.container import build_in_memory
from entrypoints.http.app import create_app
from tests.fakes.providers.adyen import TEST_HMAC_KEY
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET, sign

from .conftest import PaymentsApi


def stripe_event(event_id: str) -> bytes:
    intent = {
        "id": "pi_route_test",
        "object": "payment_intent",
        "amount": 500,
        "currency": "eur",
        "status": "succeeded",
        "metadata": {"payment_id": "pay_unknown_to_us"},
    }
    event = {
        "id": event_id,
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


def test_a_signed_stripe_event_is_stored_once_without_a_bearer_token(payments_api: PaymentsApi) -> None:
    body = stripe_event("evt_route_once")
    before = payments_api.stored_events()
    answers = [
        payments_api.client.post(
            "/v1/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": sign(body, TEST_WEBHOOK_SECRET, int(time.time()))},
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    # A redelivery replays the first acknowledgement (the same events: the same command).
    assert [a.json() for a in answers] == [{"received": 1, "duplicates": 0}] * 3
    assert payments_api.stored_events() == before + 1


def test_an_expired_or_wrongly_signed_stripe_event_is_a_400_problem(payments_api: PaymentsApi) -> None:
    body = stripe_event("evt_route_expired")
    for header in (
        sign(body, TEST_WEBHOOK_SECRET, int(time.time()) - 301),
        sign(body, "whsec_someone_else", int(time.time())),
        "",
    ):
        answer = payments_api.client.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == "webhook_rejected"


def test_adyen_gets_accepted_and_an_unsigned_batch_is_refused(payments_api: PaymentsApi) -> None:
    from tests.fakes.providers import FakeAdyen

    item = {
        "amount": {"currency": "EUR", "value": 500},
        "eventCode": "AUTHORISATION",
        "eventDate": "2026-11-27T12:00:00+01:00",
        "merchantAccountCode": "GigcoreTest",
        "merchantReference": "pay_route_adyen",
        "originalReference": "",
        "pspReference": "881599999",
        "reason": "",
        "success": "true",
    }
    signed = json.dumps(FakeAdyen.batch(item, hmac_key=TEST_HMAC_KEY)).encode()
    answer = payments_api.client.post("/v1/webhooks/adyen", content=signed)
    assert (answer.status_code, answer.text) == (200, "[accepted]")
    unsigned = json.dumps(FakeAdyen.batch(item, hmac_key="")).encode()
    assert payments_api.client.post("/v1/webhooks/adyen", content=unsigned).status_code == 400


def test_a_body_over_the_limit_is_413(payments_api: PaymentsApi) -> None:
    limit = payments_api.runtime.settings.max_body_bytes
    answer = payments_api.client.post("/v1/webhooks/stripe", content=b"{" + b" " * limit + b"}")
    assert answer.status_code == 413, answer.text


def test_without_providers_the_webhook_routes_answer_404() -> None:
    with TestClient(create_app(build_in_memory())) as client:
        answer = client.post("/v1/webhooks/stripe", content=b"{}")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
