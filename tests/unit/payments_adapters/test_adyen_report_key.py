"""Adyen's settlement reports are downloaded with the report service user's key when one
is configured (``GIGCORE_ADYEN_REPORT_API_KEY``), else with the API key; neither shows in
the gateway's configuration repr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.payments.providers import adyen_provider
from adapters.payments.secrets import EnvSecrets
from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, SettlementKind, charge_key
from core.shared.money import Money
from tests.fakes.providers import FakeAdyen
from tests.fakes.providers.adyen import MERCHANT_ACCOUNT, TEST_HMAC_KEY

API_KEY = "AQE_api_key_Pq7Rs2Tu"
REPORT_KEY = "AQE_report_key_Vw4Xy8Za"


@pytest.mark.parametrize(("report_key", "expected"), [(REPORT_KEY, REPORT_KEY), (None, API_KEY)])
def test_reports_are_downloaded_with_the_report_key_when_configured(report_key: str | None, expected: str) -> None:
    environ = {
        "GIGCORE_ADYEN_API_KEY": API_KEY,
        "GIGCORE_ADYEN_MERCHANT_ACCOUNT": MERCHANT_ACCOUNT,
        "GIGCORE_ADYEN_HMAC_KEYS": TEST_HMAC_KEY,
        **({"GIGCORE_ADYEN_REPORT_API_KEY": report_key} if report_key else {}),
    }
    now = datetime.now(UTC)
    with FakeAdyen.running() as fake:
        gateway = adyen_provider(EnvSecrets(environ), sandbox=True, base_url=fake.base_url).gateway
        payment_id = PaymentId("pay_report_key")
        charged = gateway.charge(
            ChargeRequest(
                payment_id=payment_id,
                amount=Money.of(700, "EUR"),
                method=PaymentMethod.CARD,
                country="NL",
                payer_id="usr_payer",
                payment_token="stored_1",
                idempotency_key=charge_key(payment_id),
            )
        )
        [line] = gateway.settlement_report(now - timedelta(hours=1), now + timedelta(hours=1))
        downloads = [r for r in fake.requests if r.method == "GET"]
    assert (line.provider_reference, line.kind, line.payment_id) == (
        charged.provider_reference,
        SettlementKind.CHARGE,
        payment_id,
    )
    assert downloads and {r.header("x-api-key") for r in downloads} == {expected}
    assert API_KEY not in repr(gateway._config) and REPORT_KEY not in repr(gateway._config)


def test_the_report_cache_directory_comes_from_the_settings(tmp_path: Path) -> None:
    from entrypoints.payments_setup import build_payments
    from entrypoints.settings import Settings

    environ = {
        "GIGCORE_ADYEN_API_KEY": API_KEY,
        "GIGCORE_ADYEN_MERCHANT_ACCOUNT": MERCHANT_ACCOUNT,
        "GIGCORE_ADYEN_HMAC_KEYS": TEST_HMAC_KEY,
    }
    cache = tmp_path / "adyen-reports"
    now = datetime.now(UTC)
    with FakeAdyen.running() as fake:
        settings = Settings.from_env(
            {
                "GIGCORE_PAYMENT_PROVIDERS": "adyen",
                "GIGCORE_ADYEN_BASE_URL": fake.base_url,
                "GIGCORE_ADYEN_REPORT_CACHE_DIR": str(cache),
            }
        )
        gateway = build_payments(settings, EnvSecrets(environ)).gateways["adyen"]
        for n in range(2):
            payment_id = PaymentId(f"pay_report_cache_{n}")
            gateway.charge(
                ChargeRequest(
                    payment_id=payment_id,
                    amount=Money.of(700, "EUR"),
                    method=PaymentMethod.CARD,
                    country="NL",
                    payer_id="usr_payer",
                    payment_token="stored_1",
                    idempotency_key=charge_key(payment_id),
                )
            )
            fake.close_batch()
        assert len(gateway.settlement_report(now - timedelta(hours=1), now + timedelta(hours=1))) == 2
    assert len(list(cache.glob("*.csv"))) == len(list(cache.glob("*.json"))) == 1  # batch 1; 2 is the newest
