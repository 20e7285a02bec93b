"""A provider reconciliation report as CSV or JSON text; shared by the CLI and HTTP.

CSV has one row per matched or unmatched item (columns ``CSV_COLUMNS``), amounts in
integer minor units (empty where a side has no record); ``payout_id`` names escrow's
payout on payout items. JSON is one object: the provider, the period, the counts, and
every item.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from core.payments.domain import ReconciliationItem
from core.payments.use_cases.reconcile_provider import ReconciliationReport
from core.shared.errors import InvalidInput

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
CSV_COLUMNS = (
    "kind",
    "settlement_kind",
    "provider_reference",
    "payment_id",
    "currency",
    "ours_minor",
    "theirs_minor",
    "payout_id",
)


def item_document(item: ReconciliationItem) -> dict[str, Any]:
    money = item.ours or item.theirs
    return {
        "kind": item.kind.value,
        "settlement_kind": item.settlement_kind.value,
        "provider_reference": item.provider_reference,
        "payment_id": item.payment_id,
        "currency": money.currency.code if money is not None else None,
        "ours_minor": item.ours.minor if item.ours is not None else None,
        "theirs_minor": item.theirs.minor if item.theirs is not None else None,
        "payout_id": item.payout_id,
    }


def counts_document(report: ReconciliationReport) -> dict[str, int]:
    return {
        "matched": report.matched,
        "missing_ours": report.missing_ours,
        "missing_theirs": report.missing_theirs,
        "amount_mismatch": report.amount_mismatch,
        "discrepancies": len(report.discrepancies),
    }


def report_document(report: ReconciliationReport) -> dict[str, Any]:
    return {
        "provider": report.provider,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "counts": counts_document(report),
        "items": [item_document(i) for i in report.items],
    }


def csv_chunks(report: ReconciliationReport, *, on_item: Callable[[], None] = lambda: None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in report.items:
        doc = item_document(item)
        writer.writerow(["" if doc[c] is None else doc[c] for c in CSV_COLUMNS])
        on_item()
    yield buffer.getvalue()


def json_chunks(report: ReconciliationReport, *, on_item: Callable[[], None] = lambda: None) -> Iterator[str]:
    document = report_document(report)
    for _ in report.items:
        on_item()
    yield json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def chunks(report: ReconciliationReport, fmt: str, *, on_item: Callable[[], None] = lambda: None) -> Iterator[str]:
    if fmt == "csv":
        return csv_chunks(report, on_item=on_item)
    if fmt == "json":
        return json_chunks(report, on_item=on_item)
    raise InvalidInput("format", f"one of {', '.join(FORMATS)}")


def summary_lines(report: ReconciliationReport) -> list[str]:
    c = counts_document(report)
    return [
        f"{report.provider} {report.start.isoformat()} .. {report.end.isoformat()}: "
        f"{c['matched']} matched, {c['missing_ours']} missing on our side, "
        f"{c['missing_theirs']} missing on theirs, {c['amount_mismatch']} amount mismatches"
    ]
