"""The Settlement details report parser, on the sample lines of Adyen's report documentation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.payments.adyen_gateway import AdyenConfig, AdyenGateway
from adapters.payments.adyen_settlement import UnreadableReport, lines_between, parse_settlement_details
from core.payments.domain import SettlementKind
from core.shared.gateways import GatewayUnavailable
from core.shared.money import Money

HEADER = (
    "Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,"
    "Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,"
    "Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),"
    "Payment Method Variant,Modification Merchant Reference,Batch Number,Reserved4,Reserved5,Reserved6,Reserved7,"
    "Reserved8,Reserved9,Reserved10"
)
# The two transaction lines from docs.adyen.com "Settlement details report", plus a refund.
SAMPLE = "\n".join(
    [
        HEADER,
        "TestCompany,TestMerchant,1813702551707653,3vpzf7,visa,2013-06-03 11:26:49,CET,Settled,1713702551795048,"
        "GBP,,5.00,1,GBP,,4.88,,0.04,0.01,0.07,visaclassic,,,,,,,,,",
        "TestCompany,TestMerchant,1313642467023511,324959451,visa,2013-03-26 22:37:26,CET,Chargeback,"
        "2313642467170922,EUR,349.99,,1,EUR,357.49,,7.5,,,,visaclassic,,,,,,,,,",
        "TestCompany,TestMerchant,1813702551707653,,visa,2013-06-04 09:00:00,CEST,Refunded,1913702551700001,"
        "GBP,2.00,,1,GBP,2.00,,,,,,visaclassic,,,,,,,,,",
        "TestCompany,TestMerchant,,,,2013-06-11 04:55:40,BST,MatchedStatement,,,,,,,,,,,,,,,,,,,,,,",
    ]
)


def test_settled_refunded_and_chargeback_lines_become_settlement_lines() -> None:
    settled, chargeback, refunded = parse_settlement_details(SAMPLE)
    assert (settled.kind, settled.provider_reference, settled.payment_id) == (
        SettlementKind.CHARGE,
        "1813702551707653",
        "3vpzf7",
    )
    assert (settled.gross, settled.fee, settled.net) == (
        Money.of(500, "GBP"),
        Money.of(12, "GBP"),
        Money.of(488, "GBP"),
    )
    assert settled.booked_at == datetime(2013, 6, 3, 10, 26, 49, tzinfo=UTC)
    assert (chargeback.kind, chargeback.gross, chargeback.net) == (
        SettlementKind.CHARGEBACK,
        Money.of(34999, "EUR"),
        Money.of(35749, "EUR"),
    )
    # a refund is keyed by its own pspReference (the modification), as the refund API returned it
    assert (refunded.kind, refunded.provider_reference, refunded.gross) == (
        SettlementKind.REFUND,
        "1913702551700001",
        Money.of(200, "GBP"),
    )
    assert refunded.booked_at == datetime(2013, 6, 4, 7, 0, tzinfo=UTC)


def test_only_lines_booked_in_the_period_are_kept_in_time_order() -> None:
    lines = lines_between([SAMPLE], datetime(2013, 6, 1, tzinfo=UTC), datetime(2013, 6, 4, tzinfo=UTC))
    assert [line.provider_reference for line in lines] == ["1813702551707653"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not,a,report\n1,2,3",
        SAMPLE.replace("2013-06-03 11:26:49", "yesterday"),
        SAMPLE.replace(",CET,Settled", ",XYZ,Settled"),
        SAMPLE.replace(",5.00,", ",5.0.0,"),
        SAMPLE.replace("GBP,,5.00", "GBP,,5.001"),
    ],
)
def test_a_report_that_cannot_be_read_is_refused(text: str) -> None:
    with pytest.raises(UnreadableReport):
        parse_settlement_details(text)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/reports/download/x.csv",
        "http://ca-test.adyen.com/reports/download/x.csv",
        "https://ca-test.adyen.com.evil.example/x.csv",
        "https://user@ca-test.adyen.com/x.csv",
    ],
)
def test_reports_are_downloaded_only_from_adyen_with_our_key(url: str) -> None:
    gateway = AdyenGateway(AdyenConfig(api_key="k", merchant_account="M", report_urls=lambda start, end: [url]))
    with pytest.raises(GatewayUnavailable):
        gateway.settlement_report(datetime(2013, 6, 1, tzinfo=UTC), datetime(2013, 6, 4, tzinfo=UTC))
