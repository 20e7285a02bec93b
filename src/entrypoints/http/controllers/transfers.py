"""Transfers between wallets."""

from __future__ import annotations

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from core.ledger.use_cases.transfer_funds import TransferFunds
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import transfer_command, transfer_response
from entrypoints.http.schemas import TransferRequest, TransferResponse


@post(
    "/transfers",
    sync_to_thread=True,
    operation_id="transferFunds",
    tags=["transfers"],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)
def transfer(
    *,
    data: JSONBody[TransferRequest],
    actor: NamedDependency[Actor],
    idempotency_key: NamedDependency[IdempotencyKey],
    correlation_id: NamedDependency[CorrelationId],
    transfer_funds: NamedDependency[TransferFunds],
) -> TransferResponse:
    """Move money from your wallet to another wallet in the same currency."""
    command = transfer_command(data, by=actor, key=idempotency_key, correlation=correlation_id)
    return transfer_response(transfer_funds(command))
