"""Second review: once a PayPal capture is refunded (in part or in full) its status turns
PARTIALLY_REFUNDED / REFUNDED, while what it captured stays what it captured. A lookup
must still report the captured amount: read as "captured nothing", the ledger would
credit the payer nothing for money PayPal took (or, after posting, "correct" the whole
credit back out of the wallet)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments.paypal_gateway import PayPalConfig, PayPalGateway
from adapters.payments.paypal_rest import PayPalCredentials
from core.payments.domain import (
    CaptureRequest,
    ChargeRequest,
    PaymentId,
    PaymentMethod,
    ProviderStatus,
    capture_key,
    charge_key,
)
from core.shared.money import Money
from tests.fakes.providers import FakePayPal
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET

AMOUNT = Money.of(1_000, "EUR")


@pytest.fixture
def fake() -> Iterator[FakePayPal]:
    with FakePayPal.running() as fake:
        yield fake


@pytest.mark.parametrize("capture_status", ["PARTIALLY_REFUNDED", "REFUNDED"])
def test_a_lookup_of_a_refunded_capture_reports_what_it_captured(fake: FakePayPal, capture_status: str) -> None:
    credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    gateway = PayPalGateway(PayPalConfig(credentials=credentials, base_url=fake.base_url))
    try:
        pid = PaymentId("pay_review_refunded_capture")
        charged = gateway.charge(
            ChargeRequest(
                payment_id=pid,
                amount=AMOUNT,
                method=PaymentMethod.PAYPAL,
                country="GB",
                payer_id="usr_payer",
                idempotency_key=charge_key(pid),
            )
        )
        order_id = charged.provider_reference
        fake.approve(order_id)
        captured = gateway.capture(
            CaptureRequest(payment_id=pid, provider_reference=order_id, amount=AMOUNT, idempotency_key=capture_key(pid))
        )
        assert (captured.status, captured.amount) == (ProviderStatus.CAPTURED, AMOUNT)
        # A refund made in PayPal's dashboard since: the capture's status moves on, its amount stays.
        capture = fake.orders[order_id]["purchase_units"][0]["payments"]["captures"][0]
        capture["status"] = capture_status

        found = gateway.lookup(pid, order_id)

        assert found is not None
        assert (found.status, found.amount) == (ProviderStatus.CAPTURED, AMOUNT)
    finally:
        gateway.close()
