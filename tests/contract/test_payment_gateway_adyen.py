from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments.adyen_gateway import AdyenConfig, AdyenGateway
from tests.fakes.providers import FakeAdyen
from tests.fakes.providers.adyen import DECLINED_PAYMENT_METHOD, MERCHANT_ACCOUNT

from .suites.payment_gateway import READ_TIMEOUT, STALL_SECONDS, MakeGateway, PaymentGatewayContract

API_KEY = "AQE-contract-suite-secret-0002"


class TestAdyenGateway(PaymentGatewayContract):
    good_token = "8415718415172200"
    declining_token = DECLINED_PAYMENT_METHOD
    payout_destination = "SE322JV223222F5GVGMLNB83F"
    secrets = (API_KEY,)
    finds_by_reference = False  # Adyen has no API to read a payment back: webhooks resolve
    finds_by_payment_id = False

    @pytest.fixture
    def fake(self) -> Iterator[FakeAdyen]:
        with FakeAdyen.running(stall_seconds=STALL_SECONDS) as fake:
            yield fake

    @pytest.fixture
    def make_gateway(self, fake: FakeAdyen) -> MakeGateway:
        return lambda url: AdyenGateway(
            AdyenConfig(
                api_key=API_KEY,
                merchant_account=MERCHANT_ACCOUNT,
                base_url=url,
                balance_account_id="BA3227C223222B5FG88S28BKK",
                read_timeout=READ_TIMEOUT,
                report_urls=lambda start, end: [fake.report_url(1)],
            )
        )


def test_live_without_an_endpoint_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="live_endpoint_prefix"):
        AdyenConfig(api_key="k", merchant_account="M", sandbox=False)
