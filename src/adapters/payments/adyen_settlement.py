"""Adyen's Settlement details report (SDR): CSV files, one per payable batch, downloaded
from ``…/reports/download/MerchantAccount/<account>/settlement_detail_report_batch_<n>.csv``
(docs.adyen.com "Settlement details report": structure and record types).

Adyen numbers the batches from 1 (and announces each new file with a REPORT_AVAILABLE
webhook); ``AdyenGateway`` downloads the files in batch order until one is missing and
hands their texts here. A batch settles after its transactions, so any file may hold lines
of any day: ``lines_between`` keeps those booked in the period.

Matching keys, as ``reconcile`` expects them: a **Settled** line is the payment's capture,
keyed by ``Psp Reference`` (the payment's pspReference, our provider reference); a
**Refunded** line is keyed by ``Modification Reference`` (the refund's own pspReference,
which the refund API returned).

Payouts are not here: the SDR covers the merchant account, while our payouts are
balance-platform transfers (``/transfers``), which Adyen reports in the Balance Platform
accounting report instead. A **MerchantPayout** line is Adyen paying the merchant
account's settled balance to the platform's own bank: a withdrawal, never one of ours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from core.payments.domain import PaymentId, SettlementKind, SettlementLine
from core.shared.errors import InvalidInput
from core.shared.money import Currency, Money

_KINDS = {
    "Settled": SettlementKind.CHARGE,
    "Refunded": SettlementKind.REFUND,
    "Chargeback": SettlementKind.CHARGEBACK,
    "SecondChargeback": SettlementKind.CHARGEBACK,
    "ChargebackReversed": SettlementKind.CHARGEBACK,
    "Fee": SettlementKind.FEE,
    "MiscCosts": SettlementKind.FEE,
    "PaymentCost": SettlementKind.FEE,
    "InvoiceDeduction": SettlementKind.FEE,
    "MerchantPayout": SettlementKind.WITHDRAWAL,  # to the platform's own bank, not a payee
}
# The report names its time zone by abbreviation (the account's setting).
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "WET": 0,
    "WEST": 1,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "SGT": 8,
    "HKT": 8,
    "AEST": 10,
    "AEDT": 11,
    "JST": 9,
}
_FEE_COLUMNS = ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)")


class UnreadableReport(ValueError):
    """The file is not a settlement details report we can read."""


def _decimal(row: dict[str, str], column: str) -> Decimal:
    raw = (row.get(column) or "").strip()
    if not raw:
        return Decimal(0)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise UnreadableReport(f"{column}: {raw[:20]!r} is not a number") from None
    if not value.is_finite():
        raise UnreadableReport(f"{column} is not finite")
    return value


def _money(amount: Decimal, currency: Currency) -> Money:
    try:
        return Money.parse_decimal(str(abs(amount)), currency)
    except InvalidInput as error:
        raise UnreadableReport(str(error)) from None


def _booked_at(row: dict[str, str]) -> datetime:
    zone = (row.get("TimeZone") or "").strip().upper()
    if zone not in _ZONES:
        raise UnreadableReport(f"unknown time zone {zone[:8]!r}")
    try:
        local = datetime.strptime((row.get("Creation Date") or "").strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise UnreadableReport("Creation Date is not 'YYYY-MM-DD HH:MM:SS'") from None
    return local.replace(tzinfo=timezone(timedelta(hours=_ZONES[zone])))


def parse_settlement_details(text: str) -> list[SettlementLine]:
    """Every line of one SDR file whose type we classify (transactions, fees, payouts).
    Raises UnreadableReport."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "Type" not in reader.fieldnames or "Psp Reference" not in reader.fieldnames:
        raise UnreadableReport("no settlement details header")
    lines: list[SettlementLine] = []
    for row in reader:
        kind = _KINDS.get((row.get("Type") or "").strip())
        if kind is None:
            continue
        gross_code = (row.get("Gross Currency") or row.get("Net Currency") or "").strip()
        net_code = (row.get("Net Currency") or gross_code).strip()
        try:
            gross_currency, net_currency = Currency(gross_code), Currency(net_code)
        except InvalidInput:
            raise UnreadableReport(f"unknown currency {gross_code[:8]!r}") from None
        gross = _decimal(row, "Gross Credit (GC)") - _decimal(row, "Gross Debit (GC)")
        net = _decimal(row, "Net Credit (NC)") - _decimal(row, "Net Debit (NC)")
        fee = sum((_decimal(row, column) for column in _FEE_COLUMNS), Decimal(0))
        if gross == 0 and kind is not SettlementKind.CHARGE and kind is not SettlementKind.REFUND:
            gross, gross_currency = net, net_currency  # fee and payout lines carry net amounts only
        if net_currency != gross_currency:
            # settled in another currency: keep the gross side; fee and net are in the other one
            fee, net = Decimal(0), gross
            net_currency = gross_currency
        psp = (row.get("Psp Reference") or "").strip()
        modification = (row.get("Modification Reference") or "").strip()
        reference = modification if kind is SettlementKind.REFUND else psp or modification
        merchant_reference = (row.get("Merchant Reference") or "").strip()
        lines.append(
            SettlementLine(
                provider_reference=reference or "batch",
                kind=kind,
                gross=_money(gross, gross_currency),
                fee=_money(fee, net_currency),
                net=_money(net, net_currency),
                booked_at=_booked_at(row),
                payment_id=PaymentId(merchant_reference)
                if merchant_reference and kind is SettlementKind.CHARGE
                else None,
            )
        )
    return lines


def lines_between(reports: Iterable[str], start: datetime, end: datetime) -> list[SettlementLine]:
    lines = [line for text in reports for line in parse_settlement_details(text) if start <= line.booked_at < end]
    return sorted(lines, key=lambda line: line.booked_at)
