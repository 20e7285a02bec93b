"""The fakes' signed webhook deliveries pass the real verifiers over HTTP, and a delivery
signed with the wrong secret is refused: the fakes are usable as a manual sandbox."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adapters.payments.adyen_webhooks import AdyenWebhookVerifier
from adapters.payments.paypal_rest import PayPalCredentials, PayPalRest
from adapters.payments.paypal_webhooks import PayPalWebhookVerifier
from adapters.payments.stripe_webhooks import StripeWebhookVerifier
from core.payments.domain import ProviderEvent, WebhookRejected
from tests.fakes.providers import FakeAdyen, FakePayPal, FakeStripe
from tests.fakes.providers.adyen import TEST_HMAC_KEY
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET

Verify = Callable[[Mapping[str, str], bytes, datetime], list[ProviderEvent]]


@pytest.fixture
def receiver() -> Iterator[Callable[[Verify], tuple[str, list[ProviderEvent]]]]:
    """A webhook endpoint: 200 with the events recorded, or 400 for a rejected delivery."""
    servers: list[ThreadingHTTPServer] = []

    def start(verify: Verify) -> tuple[str, list[ProviderEvent]]:
        received: list[ProviderEvent] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    received.extend(verify(dict(self.headers.items()), body, datetime.now(UTC)))
                    status = 200
                except WebhookRejected:
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/hook", received

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_stripe_deliveries_verify_and_a_wrong_secret_is_refused(receiver) -> None:  # type: ignore[no-untyped-def]
    url, received = receiver(StripeWebhookVerifier([TEST_WEBHOOK_SECRET]).verify)
    with FakeStripe.running() as fake:
        event = fake.event(
            "payment_intent.succeeded",
            {
                "id": "pi_1",
                "amount": 500,
                "currency": "eur",
                "status": "succeeded",
                "metadata": {"payment_id": "pay_1"},
            },
        )
        assert fake.deliver(url, event) == 200
        assert fake.deliver(url, event, secret="whsec_wrong") == 400
    assert [e.provider_event_id for e in received] == [event["id"]]


def test_adyen_deliveries_verify_and_an_unsigned_batch_is_refused(receiver) -> None:  # type: ignore[no-untyped-def]
    url, received = receiver(AdyenWebhookVerifier([TEST_HMAC_KEY]).verify)
    with FakeAdyen.running() as fake:
        item = fake.item("AUTHORISATION", psp="881500000001", reference="pay_1", value=500, currency="EUR")
        assert fake.deliver(url, fake.batch(item)) == 200
        assert fake.deliver(url, fake.batch(item, hmac_key="")) == 400
    assert [e.provider_event_id for e in received] == ["881500000001:AUTHORISATION:true"]


def test_paypal_deliveries_verify_through_the_fake_postback(receiver) -> None:  # type: ignore[no-untyped-def]
    with FakePayPal.running() as fake:
        rest = PayPalRest(
            base_url=fake.base_url, credentials=PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        )
        url, received = receiver(PayPalWebhookVerifier(rest, [WEBHOOK_ID], sandbox=True).verify)
        resource = {
            "id": "CAP1",
            "amount": {"currency_code": "EUR", "value": "5.00"},
            "custom_id": "pay_1",
            "supplementary_data": {"related_ids": {"order_id": "ORD1"}},
        }
        event = fake.event("PAYMENT.CAPTURE.COMPLETED", resource)
        assert fake.deliver(url, event) == 200
        assert fake.deliver(url, event, webhook_id="WH-OTHER") == 400
    assert [e.payment_id for e in received] == ["pay_1"]
