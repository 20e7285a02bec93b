from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments.stripe_gateway import StripeConfig, StripeGateway
from core.payments.domain import ChargeRequest, ProviderStatus, RefundStatus
from core.payments.ports import PaymentGateway
from tests.fakes.providers import FakeStripe
from tests.fakes.providers.stripe import AUTHORIZE_ONLY_PAYMENT_METHOD, DECLINED_PAYMENT_METHOD

from .suites.payment_gateway import READ_TIMEOUT, STALL_SECONDS, MakeGateway, PaymentGatewayContract

API_KEY = "sk_test_contract_suite_secret_0001"


class TestStripeGateway(PaymentGatewayContract):
    good_token = "pm_card_visa"
    declining_token = DECLINED_PAYMENT_METHOD
    payout_destination = "acct_1Payee"
    unknown_reference = "pi_NeverCreated"
    unknown_refund_reference = "re_NeverCreated"
    refund_words = {
        RefundStatus.PENDING: "pending",
        RefundStatus.SUCCEEDED: "succeeded",
        RefundStatus.FAILED: "failed",
    }
    secrets = (API_KEY,)

    def authorised(self, gateway: PaymentGateway, fake: FakeStripe) -> tuple[ChargeRequest, str]:
        request = self.a_charge(token=AUTHORIZE_ONLY_PAYMENT_METHOD)
        answer = gateway.charge(request)
        assert answer.status is ProviderStatus.AUTHORIZED and fake.charges == []
        return request, answer.provider_reference

    @pytest.fixture
    def fake(self) -> Iterator[FakeStripe]:
        with FakeStripe.running(stall_seconds=STALL_SECONDS) as fake:
            yield fake

    @pytest.fixture
    def make_gateway(self) -> MakeGateway:
        return lambda url: StripeGateway(StripeConfig(api_key=API_KEY, base_url=url, read_timeout=READ_TIMEOUT))


def test_a_live_key_is_refused_in_sandbox_mode_and_a_test_key_in_live_mode() -> None:
    with pytest.raises(ValueError, match="not a test key"):
        StripeConfig(api_key="sk_live_x", sandbox=True)
    with pytest.raises(ValueError, match="not a live key"):
        StripeConfig(api_key="sk_test_x", sandbox=False)
    assert "sk_test_x" not in repr(StripeConfig(api_key="sk_test_x"))
