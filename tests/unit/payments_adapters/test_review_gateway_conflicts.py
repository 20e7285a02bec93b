"""Second review: a 409 Conflict on a money-moving call means another request with the same
idempotency key is still in flight at the provider (Stripe: "the request conflicts with
another request (perhaps due to using the same idempotent key)"; nothing is saved for it).
Its outcome is that other request's, which we do not know: never a final decline, or a
refund would be booked back to the wallet while the provider pays it out all the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.payments.stripe_gateway import StripeConfig, StripeGateway
from adapters.payments.transport import http_failure
from core.payments.domain import PaymentId, RefundId, RefundRequest, refund_key
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Money
from tests.fakes.providers import FakeStripe
from tests.fakes.providers.base import Request, Response

API_KEY = "sk_test_review_conflicts_0001"


def test_a_409_after_sending_is_an_unknown_outcome_and_on_a_read_an_outage() -> None:
    assert isinstance(http_failure("p", 409, sent_safely=False), GatewayOutcomeUnknown)
    assert isinstance(http_failure("p", 409, sent_safely=True), GatewayUnavailable)


class _ConcurrentStripe(FakeStripe):
    """Answers every refund as Stripe answers a second request while the first one with the
    same key is still executing."""

    def dispatch(self, request: Request, *, decline: bool) -> Response:
        if request.method == "POST" and request.path == "/v1/refunds":
            payload: dict[str, Any] = {
                "error": {
                    "type": "invalid_request_error",
                    "message": "There is currently another in-progress request using this Idempotent Key.",
                }
            }
            return Response.of_json(409, payload)
        return super().dispatch(request, decline=decline)


@pytest.fixture
def fake() -> Iterator[_ConcurrentStripe]:
    with _ConcurrentStripe.running() as fake:
        yield fake


def test_a_stripe_refund_answered_409_is_an_unknown_outcome_not_a_decline(fake: _ConcurrentStripe) -> None:
    gateway = StripeGateway(StripeConfig(api_key=API_KEY, base_url=fake.base_url))
    try:
        payment_id, refund_id = PaymentId("pay_review409"), RefundId("rfd_review409")
        request = RefundRequest(
            payment_id=payment_id,
            refund_id=refund_id,
            provider_reference="pi_Review409",
            amount=Money.of(500, "EUR"),
            idempotency_key=refund_key(payment_id, refund_id),
        )
        with pytest.raises(GatewayOutcomeUnknown):
            try:
                gateway.refund(request)
            except GatewayDeclined as declined:  # the defect: final, so the refund is reversed
                pytest.fail(f"a 409 was taken as a final decline: {declined.reason}")
    finally:
        gateway.close()
