"""Earnings by stage, and payouts with maker-checker approval bands."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from core.escrow.domain import PayoutId
from core.escrow.use_cases.approve_payout import ApprovePayout, ApprovePayoutCommand
from core.escrow.use_cases.execute_payout import ExecutePayout, ExecutePayoutCommand
from core.escrow.use_cases.get_earnings import GetEarnings, GetEarningsQuery
from core.escrow.use_cases.get_payout import GetPayout, GetPayoutQuery
from core.escrow.use_cases.request_payout import RequestPayout
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import Currency
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import earnings_response, payout_response, request_payout_command
from entrypoints.http.schemas import EarningsResponse, PayoutResponse, RequestPayoutRequest

_WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
_READ = problem_responses(400, 401, 403, 404, 422, 503)


@get("/earnings", sync_to_thread=True, operation_id="getEarnings", tags=["payouts"], responses=_READ)
def earnings(
    *,
    actor: NamedDependency[Actor],
    get_earnings: NamedDependency[GetEarnings],
    currency: Annotated[str, QueryParameter(description="ISO 4217 code, e.g. EUR")],
    user_id: Annotated[str | None, QueryParameter(description="Staff only: this user's earnings")] = None,
) -> EarningsResponse:
    """Your money in one currency by stage: pending (released, still clearing), available
    (in your wallet) and in transit (payouts not yet paid)."""
    return earnings_response(get_earnings(GetEarningsQuery(by=actor, currency=Currency(currency), user_id=user_id)))


class PayoutsController(Controller):
    path = "/payouts"
    tags = ["payouts"]

    @post("/", sync_to_thread=True, operation_id="requestPayout", responses=_WRITE)
    def request(
        self,
        *,
        data: JSONBody[RequestPayoutRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        request_payout: NamedDependency[RequestPayout],
    ) -> PayoutResponse:
        """Ask for available money to be paid out (providers; finance for a `payee_id`). It
        moves to in transit at once; its amount decides how many distinct finance
        approvals it needs before it can be executed."""
        command = request_payout_command(data, by=actor, key=idempotency_key, correlation=correlation_id)
        return payout_response(request_payout(command))

    @get("/{payout_id:str}", sync_to_thread=True, operation_id="getPayout", responses=_READ)
    def read(
        self, payout_id: FromPath[str], actor: NamedDependency[Actor], get_payout: NamedDependency[GetPayout]
    ) -> PayoutResponse:
        """A payout: its approvals, attempts and outcome. For its payee, and for staff."""
        return payout_response(get_payout(GetPayoutQuery(by=actor, payout_id=PayoutId(payout_id))))

    @post(
        "/{payout_id:str}/approvals",
        status_code=200,
        sync_to_thread=True,
        operation_id="approvePayout",
        responses=_WRITE,
    )
    def approve(
        self,
        *,
        payout_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        approve_payout: NamedDependency[ApprovePayout],
    ) -> PayoutResponse:
        """Approve a requested payout (finance). Never your own (as payee or requester), and
        each checker counts once."""
        command = ApprovePayoutCommand(
            by=actor, idempotency_key=idempotency_key, correlation_id=correlation_id, payout_id=PayoutId(payout_id)
        )
        return payout_response(approve_payout(command))

    @post(
        "/{payout_id:str}/execution",
        status_code=200,
        sync_to_thread=True,
        operation_id="executePayout",
        responses=_WRITE,
    )
    def execute(
        self,
        *,
        payout_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        execute_payout: NamedDependency[ExecutePayout],
    ) -> PayoutResponse:
        """Send an approved payout through the payout gateway, exactly once (finance). A
        decline answers `failed` and returns the money to the wallet; an unreachable
        gateway is a 503: retry."""
        command = ExecutePayoutCommand(
            by=actor, idempotency_key=idempotency_key, correlation_id=correlation_id, payout_id=PayoutId(payout_id)
        )
        return payout_response(execute_payout(command))
