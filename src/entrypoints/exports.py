"""Journal exports as CSV or JSON text, streamed chunk by chunk; shared by the CLI and HTTP.

CSV has one row per posting (columns ``CSV_COLUMNS``); amounts are signed minor units
(credits positive, debits negative). JSON is one object: the period, the entries with
their postings, the ``closing_snapshot`` (the latest balance snapshot taken at or before
the period's end, or null), and a trailing ``totals`` section (debits and credits per
currency, and whether they balance).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from core.ledger.domain import JournalEntry
from core.ledger.ports import StoredSnapshot
from core.ledger.use_cases.export_journal import ExportTotals, JournalExport
from core.shared.errors import InvalidInput

FORMATS = ("csv", "json")
CSV_COLUMNS = ("entry_id", "occurred_at", "kind", "memo", "account_id", "currency", "amount_minor")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_moment(field: str, text: str) -> datetime:
    """``2026-11-01`` (midnight UTC) or an ISO 8601 date and time with an offset (or Z),
    converted to UTC. Raises InvalidInput."""
    try:
        if _DATE.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "a date (2026-11-01) or an ISO 8601 date and time with an offset") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, "a date and time needs an offset, e.g. Z or +00:00")
    return moment.astimezone(UTC)


def totals_document(totals: ExportTotals) -> dict[str, Any]:
    return {
        "entries": totals.entries,
        "postings": totals.postings,
        "balanced": totals.balanced,
        "currencies": [
            {
                "currency": c.currency,
                "debits_minor": c.debits_minor,
                "credits_minor": c.credits_minor,
                "balanced": c.balanced,
            }
            for c in totals.currencies
        ],
    }


def totals_lines(totals: ExportTotals) -> list[str]:
    """The totals as short lines of text (the CLI prints them on stderr next to CSV)."""
    lines = [f"totals: {totals.entries} entries, {totals.postings} postings, balanced: {str(totals.balanced).lower()}"]
    lines.extend(
        f"totals {c.currency}: debits {c.debits_minor} credits {c.credits_minor} balanced: {str(c.balanced).lower()}"
        for c in totals.currencies
    )
    return lines


def snapshot_document(snapshot: StoredSnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {
        "snapshot_id": snapshot.snapshot_id,
        "taken_at": snapshot.taken_at.isoformat(),
        "balances": [
            {"account_id": line.account_id, "currency": line.balance.currency.code, "balance_minor": line.balance.minor}
            for line in snapshot.lines
        ],
    }


def _entry_document(entry: JournalEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "occurred_at": entry.occurred_at.isoformat(),
        "kind": entry.kind.value,
        "memo": entry.memo,
        "postings": [
            {"account_id": p.account_id, "currency": p.amount.currency.code, "amount_minor": p.amount.minor}
            for p in entry.postings
        ],
    }


def csv_chunks(export: JournalExport, *, on_entry: Callable[[], None] = lambda: None) -> Iterator[str]:
    """The header, then one chunk per entry (one row per posting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for entry in export.entries():
        for p in entry.postings:
            writer.writerow(
                (
                    entry.id,
                    entry.occurred_at.isoformat(),
                    entry.kind.value,
                    entry.memo,
                    p.account_id,
                    p.amount.currency.code,
                    p.amount.minor,
                )
            )
        on_entry()
        yield flush()


def json_chunks(export: JournalExport, *, on_entry: Callable[[], None] = lambda: None) -> Iterator[str]:
    """One JSON object, streamed: the period, each entry, then the totals."""
    period = json.dumps({"from_at": export.from_at.isoformat(), "to_at": export.to_at.isoformat()})
    yield period[:-1] + ', "entries": ['
    separator = "\n"
    for entry in export.entries():
        yield separator + json.dumps(_entry_document(entry), ensure_ascii=False)
        separator = ",\n"
        on_entry()
    closing = json.dumps(snapshot_document(export.closing_snapshot()))
    yield '\n], "closing_snapshot": ' + closing + ', "totals": ' + json.dumps(totals_document(export.totals())) + "}\n"


def chunks(export: JournalExport, fmt: str, *, on_entry: Callable[[], None] = lambda: None) -> Iterator[str]:
    if fmt == "csv":
        return csv_chunks(export, on_entry=on_entry)
    if fmt == "json":
        return json_chunks(export, on_entry=on_entry)
    raise InvalidInput("format", f"one of {', '.join(FORMATS)}")
