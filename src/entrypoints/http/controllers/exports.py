"""Journal exports, for finance and admin: CSV or JSON, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from core.ledger.use_cases.export_journal import ExportJournal, ExportJournalQuery
from core.shared.actor import Actor
from entrypoints import exports
from entrypoints.http.errors import problem_responses

_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@get(
    "/exports/journal",
    sync_to_thread=True,
    operation_id="exportJournal",
    tags=["exports"],
    responses=problem_responses(400, 401, 403, 503),
)
def export_journal_route(
    *,
    actor: NamedDependency[Actor],
    export_journal: NamedDependency[ExportJournal],
    from_: Annotated[
        str, QueryParameter(name="from", description="First day (2026-11-01, midnight UTC) or instant, included")
    ],
    to: Annotated[str, QueryParameter(description="Day or instant the period ends, excluded; at most 366 days")],
    fmt: Annotated[
        Literal["json", "csv"],
        QueryParameter(name="format", description="json (with a trailing totals section) or csv"),
    ] = "json",
) -> Stream:
    """Every journal entry of the period [from, to) with its postings, in time order. JSON
    ends with debit and credit totals per currency and whether they balance; CSV has one
    row per posting (entry_id, occurred_at, kind, memo, account_id, currency, amount_minor).
    Finance or admin."""
    query = ExportJournalQuery(
        by=actor, from_at=exports.parse_moment("from", from_), to_at=exports.parse_moment("to", to)
    )
    export = export_journal(query)  # authorised and validated before the first byte is sent
    body: Iterator[str] = exports.chunks(export, fmt)
    filename = f"journal-{export.from_at:%Y%m%dT%H%M%SZ}-{export.to_at:%Y%m%dT%H%M%SZ}.{fmt}"
    return Stream(
        body,
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
