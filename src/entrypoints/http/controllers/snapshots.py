"""Balance snapshots, for finance and admin."""

from __future__ import annotations

from litestar import post
from litestar.di import NamedDependency

from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshots, TakeBalanceSnapshotsCommand
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import snapshot_response
from entrypoints.http.schemas import SnapshotResponse


@post(
    "/snapshots",
    sync_to_thread=True,
    operation_id="takeBalanceSnapshots",
    tags=["snapshots"],
    responses=problem_responses(400, 401, 403, 409, 503),
)
def take_snapshots(
    *,
    actor: NamedDependency[Actor],
    idempotency_key: NamedDependency[IdempotencyKey],
    correlation_id: NamedDependency[CorrelationId],
    take_balance_snapshots: NamedDependency[TakeBalanceSnapshots],
) -> SnapshotResponse:
    """Record every account's balance at one instant; the totals per currency are zero in
    a healthy ledger. Finance or admin."""
    command = TakeBalanceSnapshotsCommand(by=actor, idempotency_key=idempotency_key, correlation_id=correlation_id)
    return snapshot_response(take_balance_snapshots(command))
