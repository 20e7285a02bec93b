from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments.paypal_gateway import PayPalConfig, PayPalGateway
from adapters.payments.paypal_rest import PayPalCredentials
from tests.fakes.providers import FakePayPal
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, DECLINED_VAULT_ID

from .suites.payment_gateway import READ_TIMEOUT, STALL_SECONDS, MakeGateway, PaymentGatewayContract


class TestPayPalGateway(PaymentGatewayContract):
    good_token = "8kk8451t"
    declining_token = DECLINED_VAULT_ID
    payout_destination = "payee@example.com"
    unknown_reference = "ORD9NEVERCREATED"
    secrets = (CLIENT_SECRET,)
    finds_by_payment_id = False  # orders are not searchable by custom_id: the webhook resolves

    @pytest.fixture
    def fake(self) -> Iterator[FakePayPal]:
        with FakePayPal.running(stall_seconds=STALL_SECONDS) as fake:
            yield fake

    @pytest.fixture
    def make_gateway(self) -> MakeGateway:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        return lambda url: PayPalGateway(PayPalConfig(credentials=credentials, base_url=url, read_timeout=READ_TIMEOUT))


def test_a_payment_without_a_vaulted_source_waits_for_the_payer() -> None:
    from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, ProviderStatus, charge_key
    from core.shared.money import Money

    with FakePayPal.running() as fake:
        credentials = PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        gateway = PayPalGateway(PayPalConfig(credentials=credentials, base_url=fake.base_url))
        pid = PaymentId("pay_approve")
        result = gateway.charge(
            ChargeRequest(
                payment_id=pid,
                amount=Money.of(999, "USD"),
                method=PaymentMethod.PAYPAL,
                country="US",
                payer_id="usr_1",
                idempotency_key=charge_key(pid),
            )
        )
    assert result.status is ProviderStatus.REQUIRES_ACTION
    assert result.client_action is not None and result.client_action.kind == "redirect"
    assert result.client_action.url and result.provider_reference in result.client_action.url
    assert fake.charges == []
