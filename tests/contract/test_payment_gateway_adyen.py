from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.payments.adyen_gateway import AdyenConfig, AdyenGateway
from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, ProviderStatus, SettlementKind, charge_key
from core.payments.ports import PaymentGateway
from core.shared.gateways import GatewayUnavailable
from core.shared.money import Money
from tests.fakes.providers import FakeAdyen
from tests.fakes.providers.adyen import DECLINED_PAYMENT_METHOD, MERCHANT_ACCOUNT
from tests.fakes.providers.base import a_free_port

from .suites.payment_gateway import READ_TIMEOUT, STALL_SECONDS, MakeGateway, PaymentGatewayContract

API_KEY = "AQE-contract-suite-secret-0002"


class TestAdyenGateway(PaymentGatewayContract):
    good_token = "8415718415172200"
    declining_token = DECLINED_PAYMENT_METHOD
    payout_destination = "SE322JV223222F5GVGMLNB83F"
    secrets = (API_KEY,)
    finds_by_reference = False  # Adyen has no API to read a payment back: webhooks resolve
    finds_by_payment_id = False
    capture_answers = ProviderStatus.PROCESSING  # "received": the CAPTURE webhook reports it
    refuses_a_second_capture = False

    def authorised(self, gateway: PaymentGateway, fake: FakeAdyen) -> tuple[ChargeRequest, str]:
        # Adyen authorises ("Authorised"); with manual capture the merchant captures it.
        request = self.a_charge()
        return request, gateway.charge(request).provider_reference

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
            )
        )


def test_live_without_an_endpoint_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="live_endpoint_prefix"):
        AdyenConfig(api_key="k", merchant_account="M", sandbox=False)


# -- settlement reports: the gateway walks the batch files itself --------------------------


def a_gateway(fake: FakeAdyen, **config: Any) -> AdyenGateway:
    return AdyenGateway(
        AdyenConfig(api_key=API_KEY, merchant_account=MERCHANT_ACCOUNT, base_url=fake.base_url, **config)
    )


def charge(gateway: AdyenGateway, payment: str, minor: int) -> str:
    payment_id = PaymentId(payment)
    return gateway.charge(
        ChargeRequest(
            payment_id=payment_id,
            amount=Money.of(minor, "EUR"),
            method=PaymentMethod.CARD,
            country="DE",
            payer_id="usr_payer",
            payment_token="8415718415172200",
            idempotency_key=charge_key(payment_id),
        )
    ).provider_reference


def test_the_report_reads_every_batch_file_until_one_is_missing() -> None:
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    with FakeAdyen.running() as fake:
        gateway = a_gateway(fake)
        first = charge(gateway, "pay_batch_one", 1_100)
        assert fake.close_batch() == 1
        second = charge(gateway, "pay_batch_two", 2_200)
        assert fake.close_batch() == 2

        lines = gateway.settlement_report(*window)

        assert sorted((line.provider_reference, line.kind, line.gross.minor) for line in lines) == sorted(
            [(first, SettlementKind.CHARGE, 1_100), (second, SettlementKind.CHARGE, 2_200)]
        )
        asked = [r.path.rsplit("/", 1)[-1] for r in fake.requests if r.method == "GET"]
        assert asked == [f"settlement_detail_report_batch_{n}.csv" for n in (1, 2, 3)]
        assert all(r.header("x-api-key") == API_KEY for r in fake.requests if r.method == "GET")

        # Starting at a later batch skips the earlier files; a cap too low refuses, never cuts short.
        [later] = a_gateway(fake, first_report_batch=2).settlement_report(*window)
        assert later.provider_reference == second
        with pytest.raises(GatewayUnavailable):
            a_gateway(fake, max_report_batches=1).settlement_report(*window)


def test_without_any_settled_batch_the_report_is_empty_and_an_unreachable_host_is_unavailable() -> None:
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    with FakeAdyen.running() as fake:
        assert a_gateway(fake).settlement_report(*window) == []
    unreachable = AdyenGateway(
        AdyenConfig(api_key=API_KEY, merchant_account=MERCHANT_ACCOUNT, base_url=f"http://127.0.0.1:{a_free_port()}")
    )
    with pytest.raises(GatewayUnavailable):
        unreachable.settlement_report(*window)


@pytest.mark.parametrize(
    ("sandbox", "host"), [(True, "https://ca-test.adyen.com"), (False, "https://ca-live.adyen.com")]
)
def test_report_files_are_named_as_adyen_serves_them(sandbox: bool, host: str) -> None:
    gateway = AdyenGateway(
        AdyenConfig(api_key="k", merchant_account="Gig Core", sandbox=sandbox, live_endpoint_prefix="1797a841fbb37ca7")
    )
    assert gateway.report_url(12) == (
        f"{host}/reports/download/MerchantAccount/Gig%20Core/settlement_detail_report_batch_12.csv"
    )
