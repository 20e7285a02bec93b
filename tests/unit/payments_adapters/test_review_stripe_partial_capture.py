"""Second review: a Stripe intent authorised for 10.00 and captured for 6.00 (a partial
capture in the dashboard) says ``amount`` 1000 and ``amount_received`` 600. A lookup is
how CapturePayment believes "captured already" after Stripe refuses its capture, and how
the janitor resolves a lost answer: it must report what Stripe took, as the capture answer
and the capture webhook do, or the wallet is credited 4.00 the platform never received."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments.stripe_gateway import StripeConfig, StripeGateway
from core.payments.domain import (
    CaptureRequest,
    ChargeRequest,
    PaymentId,
    PaymentMethod,
    ProviderStatus,
    capture_key,
    charge_key,
)
from core.shared.gateways import GatewayDeclined
from core.shared.money import Money
from tests.fakes.providers import FakeStripe
from tests.fakes.providers.stripe import AUTHORIZE_ONLY_PAYMENT_METHOD

API_KEY = "sk_test_review_partial_capture_0001"
AMOUNT = Money.of(1_000, "EUR")


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe.running() as fake:
        yield fake


def test_a_lookup_of_a_partly_captured_intent_reports_what_stripe_took(fake: FakeStripe) -> None:
    gateway = StripeGateway(StripeConfig(api_key=API_KEY, base_url=fake.base_url))
    try:
        pid = PaymentId("pay_review_partial_capture")
        authorised = gateway.charge(
            ChargeRequest(
                payment_id=pid,
                amount=AMOUNT,
                method=PaymentMethod.CARD,
                country="DE",
                payer_id="usr_payer",
                payment_token=AUTHORIZE_ONLY_PAYMENT_METHOD,
                idempotency_key=charge_key(pid),
            )
        )
        assert authorised.status is ProviderStatus.AUTHORIZED
        reference = authorised.provider_reference
        # Captured for 6.00 in Stripe's dashboard (the rest of the authorisation released).
        fake.intents[reference].update(status="succeeded", amount_received=600, amount_capturable=0)
        request = CaptureRequest(
            payment_id=pid, provider_reference=reference, amount=AMOUNT, idempotency_key=capture_key(pid)
        )
        with pytest.raises(GatewayDeclined):  # payment_intent_unexpected_state: the caller looks it up
            gateway.capture(request)

        found = gateway.lookup(pid, reference)

        assert found is not None
        assert (found.status, found.amount) == (ProviderStatus.CAPTURED, Money.of(600, "EUR"))
    finally:
        gateway.close()
