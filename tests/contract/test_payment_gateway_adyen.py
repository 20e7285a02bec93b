from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.payments.adyen_gateway import AdyenConfig, AdyenGateway
from adapters.payments.adyen_report_cache import MemoryReportCache
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
    payout_line_names = None  # balance-platform transfers are not in the settlement details report

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


# -- the report cache: closed batches are read once, batches before a period are skipped ----


def downloaded(fake: FakeAdyen, since: int = 0) -> list[int]:
    """The batch numbers the gateway asked for, in order, from request ``since`` on."""
    return [
        int(r.path.rsplit("_", 1)[-1].removesuffix(".csv"))
        for r in fake.requests[since:]
        if r.method == "GET" and "settlement_detail_report_batch_" in r.path
    ]


@pytest.mark.parametrize("cache", ["memory", "directory"])
def test_a_second_report_downloads_only_the_newest_batch(cache: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    with FakeAdyen.running() as fake:

        def gateway() -> AdyenGateway:  # the directory cache outlives the gateway (a new process)
            return a_gateway(fake, report_cache_dir=str(tmp_path)) if cache == "directory" else the_gateway

        the_gateway = a_gateway(fake)
        for n in range(3):
            charge(the_gateway, f"pay_cache_{n}", 1_000 + n)
            assert fake.close_batch() == n + 1

        first = gateway().settlement_report(*window)
        assert downloaded(fake) == [1, 2, 3, 4]
        assert sorted(line.gross.minor for line in first) == [1_000, 1_001, 1_002]

        mark = len(fake.requests)
        assert gateway().settlement_report(*window) == first
        assert downloaded(fake, mark) == [3, 4]  # 1 and 2 are closed: kept; 3 may still grow

        # A new batch closes the former newest one: downloaded once more, then kept.
        charge(the_gateway, "pay_cache_3", 1_003)
        assert fake.close_batch() == 4
        mark = len(fake.requests)
        assert len(gateway().settlement_report(*window)) == 4
        assert downloaded(fake, mark) == [3, 4, 5]
        mark = len(fake.requests)
        assert len(gateway().settlement_report(*window)) == 4
        assert downloaded(fake, mark) == [4, 5]


def test_a_report_of_a_later_period_skips_the_batches_booked_before_it() -> None:
    day = datetime(2026, 3, 1, 12, tzinfo=UTC)
    cache = MemoryReportCache()
    with FakeAdyen.running() as fake:

        def gateway(max_report_batches: int) -> AdyenGateway:
            config = AdyenConfig(
                api_key=API_KEY,
                merchant_account=MERCHANT_ACCOUNT,
                base_url=fake.base_url,
                max_report_batches=max_report_batches,
            )
            return AdyenGateway(config, report_cache=cache)

        old = []
        for n in range(4):  # one batch a day, 1 to 4 March
            old.append(charge(gateway(10), f"pay_old_{n}", 100 + n))
            assert fake.close_batch(day + timedelta(days=n)) == n + 1
        assert len(gateway(10).settlement_report(day, day + timedelta(days=5))) == 4  # learns 1-3

        new = []
        for n in range(2):  # two more, on 10 and 11 March
            new.append(charge(gateway(10), f"pay_new_{n}", 200 + n))
            assert fake.close_batch(day + timedelta(days=9 + n)) == 5 + n

        # 1-3 are closed and booked before the period: neither downloaded nor counted (six
        # files from batch 1 would be over the cap of four).
        mark = len(fake.requests)
        lines = gateway(4).settlement_report(day + timedelta(days=9), day + timedelta(days=11))
        assert downloaded(fake, mark) == [4, 5, 6, 7]
        assert [line.provider_reference for line in lines] == new

        # An earlier period still finds its batch, read from the cache.
        mark = len(fake.requests)
        [second] = gateway(4).settlement_report(day + timedelta(days=1), day + timedelta(days=2))
        assert second.provider_reference == old[1]
        assert downloaded(fake, mark) == [6, 7]  # only the newest batch is not kept


def test_a_corrupt_cached_batch_is_downloaded_again(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    with FakeAdyen.running() as fake:
        gateway = a_gateway(fake, report_cache_dir=str(tmp_path))
        for n in range(3):
            charge(gateway, f"pay_corrupt_{n}", 500 + n)
            fake.close_batch()
        expected = gateway.settlement_report(*window)
        assert len(expected) == 3

        def entry(batch: int, suffix: str) -> Path:
            return tmp_path / f"{hashlib.sha256(gateway.report_url(batch).encode()).hexdigest()}.{suffix}"

        # Batch 1's file loses its last line (still a readable CSV); batch 2's index is not JSON.
        text = entry(1, "csv").read_text()
        entry(1, "csv").write_text(text[: text.rstrip().rfind("\n") + 1])
        entry(2, "json").write_text("{not json")

        mark = len(fake.requests)
        again = a_gateway(fake, report_cache_dir=str(tmp_path))
        assert again.settlement_report(*window) == expected
        assert downloaded(fake, mark) == [1, 2, 3, 4]
        mark = len(fake.requests)  # kept anew
        assert again.settlement_report(*window) == expected
        assert downloaded(fake, mark) == [3, 4]
