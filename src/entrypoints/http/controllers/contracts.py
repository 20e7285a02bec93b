"""Contracts and their milestones: the escrow lifecycle.

The parties act in their own roles (the client proposes, funds, approves, requests
changes and proposes refunds; the provider accepts, submits and agrees to refunds; either
opens a dispute hold); support refunds and settles holds, always with a reason. A step
the milestone's state does not allow is a 409 ``illegal_transition`` that changes nothing.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from core.escrow.domain import ContractId, MilestoneId
from core.escrow.use_cases.accept_contract import AcceptContract, AcceptContractCommand
from core.escrow.use_cases.agree_refund import AgreeRefund, AgreeRefundCommand
from core.escrow.use_cases.approve_milestone import ApproveMilestone, ApproveMilestoneCommand
from core.escrow.use_cases.cancel_contract import CancelContract, CancelContractCommand
from core.escrow.use_cases.create_contract import CreateContract
from core.escrow.use_cases.decline_contract import DeclineContract, DeclineContractCommand
from core.escrow.use_cases.fund_milestone import FundMilestone, FundMilestoneCommand
from core.escrow.use_cases.get_contract import GetContract, GetContractQuery
from core.escrow.use_cases.open_dispute_hold import OpenDisputeHold, OpenDisputeHoldCommand
from core.escrow.use_cases.propose_refund import ProposeRefund, ProposeRefundCommand
from core.escrow.use_cases.refund_milestone import RefundMilestone, RefundMilestoneCommand
from core.escrow.use_cases.request_milestone_changes import RequestMilestoneChanges, RequestMilestoneChangesCommand
from core.escrow.use_cases.resolve_dispute_hold import ResolveDisputeHold, ResolveDisputeHoldCommand
from core.escrow.use_cases.submit_milestone import SubmitMilestone, SubmitMilestoneCommand
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import (
    contract_response,
    create_contract_command,
    milestone_moved_response,
    money_from_body,
    optional_money,
)
from entrypoints.http.schemas import (
    ApproveMilestoneRequest,
    ContractResponse,
    CreateContractRequest,
    MilestoneMovedResponse,
    OpenDisputeHoldRequest,
    RefundAmountRequest,
    ResolveDisputeHoldRequest,
    SupportRefundRequest,
)

_WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
_READ = problem_responses(400, 401, 403, 404, 503)
_MILESTONE = "/{contract_id:str}/milestones/{milestone_id:str}"


class ContractsController(Controller):
    path = "/contracts"
    tags = ["contracts"]

    @post("/", sync_to_thread=True, operation_id="createContract", responses=_WRITE)
    def create(
        self,
        *,
        data: JSONBody[CreateContractRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        create_contract: NamedDependency[CreateContract],
    ) -> ContractResponse:
        """Propose a contract to a provider (clients): ordered milestones in one currency.
        The answer shows each milestone's fee and net before anything is funded."""
        command = create_contract_command(data, by=actor, key=idempotency_key, correlation=correlation_id)
        return contract_response(create_contract(command))

    @get("/{contract_id:str}", sync_to_thread=True, operation_id="getContract", responses=_READ)
    def read(
        self, contract_id: FromPath[str], actor: NamedDependency[Actor], get_contract: NamedDependency[GetContract]
    ) -> ContractResponse:
        """A contract with its milestones: state, held, released, refunded and fees. For its
        parties, and for support, finance and admin."""
        return contract_response(get_contract(GetContractQuery(by=actor, contract_id=ContractId(contract_id))))

    @post(
        "/{contract_id:str}/accept",
        status_code=200,
        sync_to_thread=True,
        operation_id="acceptContract",
        responses=_WRITE,
    )
    def accept(
        self,
        *,
        contract_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        accept_contract: NamedDependency[AcceptContract],
    ) -> ContractResponse:
        """Accept a proposed contract (its provider): it becomes active and its deadlines run."""
        command = AcceptContractCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
        )
        return contract_response(accept_contract(command))

    @post(
        "/{contract_id:str}/decline",
        status_code=200,
        sync_to_thread=True,
        operation_id="declineContract",
        responses=_WRITE,
    )
    def decline(
        self,
        *,
        contract_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        decline_contract: NamedDependency[DeclineContract],
    ) -> ContractResponse:
        """Decline a proposed contract (its provider)."""
        command = DeclineContractCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
        )
        return contract_response(decline_contract(command))

    @post(
        "/{contract_id:str}/cancel",
        status_code=200,
        sync_to_thread=True,
        operation_id="cancelContract",
        responses=_WRITE,
    )
    def cancel(
        self,
        *,
        contract_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        cancel_contract: NamedDependency[CancelContract],
    ) -> ContractResponse:
        """Withdraw a contract that is still proposed (its client)."""
        command = CancelContractCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
        )
        return contract_response(cancel_contract(command))

    # --- milestones -------------------------------------------------------------------

    @post(_MILESTONE + "/fund", status_code=200, sync_to_thread=True, operation_id="fundMilestone", responses=_WRITE)
    def fund(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        fund_milestone: NamedDependency[FundMilestone],
    ) -> MilestoneMovedResponse:
        """Move the milestone's amount from your wallet into its escrow (the client)."""
        command = FundMilestoneCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
        )
        return milestone_moved_response(fund_milestone(command))

    @post(
        _MILESTONE + "/submit", status_code=200, sync_to_thread=True, operation_id="submitMilestone", responses=_WRITE
    )
    def submit(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        submit_milestone: NamedDependency[SubmitMilestone],
    ) -> MilestoneMovedResponse:
        """Submit the work of a funded milestone (the provider). Unless the client approves,
        requests changes or opens a dispute hold in time, it is released automatically."""
        command = SubmitMilestoneCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
        )
        return milestone_moved_response(submit_milestone(command))

    @post(
        _MILESTONE + "/approve", status_code=200, sync_to_thread=True, operation_id="approveMilestone", responses=_WRITE
    )
    def approve(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        data: JSONBody[ApproveMilestoneRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        approve_milestone: NamedDependency[ApproveMilestone],
    ) -> MilestoneMovedResponse:
        """Approve submitted work and release it, less the fee, to the provider's pending
        earnings (the client). Send `{}` to release everything held, or an `amount` to
        release part of it (the rest goes back to work)."""
        command = ApproveMilestoneCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
            amount=optional_money(data.amount),
        )
        return milestone_moved_response(approve_milestone(command))

    @post(
        _MILESTONE + "/request-changes",
        status_code=200,
        sync_to_thread=True,
        operation_id="requestMilestoneChanges",
        responses=_WRITE,
    )
    def request_changes(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        request_milestone_changes: NamedDependency[RequestMilestoneChanges],
    ) -> MilestoneMovedResponse:
        """Send submitted work back (the client); the money stays held."""
        command = RequestMilestoneChangesCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
        )
        return milestone_moved_response(request_milestone_changes(command))

    @post(
        _MILESTONE + "/refund-proposal",
        status_code=200,
        sync_to_thread=True,
        operation_id="proposeRefund",
        responses=_WRITE,
    )
    def propose_refund(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        data: JSONBody[RefundAmountRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        propose_refund: NamedDependency[ProposeRefund],
    ) -> MilestoneMovedResponse:
        """Propose that part of a funded milestone comes back to you (the client); it moves
        when the provider agrees to the same amount."""
        command = ProposeRefundCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
            amount=money_from_body(data.amount),
        )
        return milestone_moved_response(propose_refund(command))

    @post(
        _MILESTONE + "/refund-agreement",
        status_code=200,
        sync_to_thread=True,
        operation_id="agreeRefund",
        responses=_WRITE,
    )
    def agree_refund(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        data: JSONBody[RefundAmountRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        agree_refund: NamedDependency[AgreeRefund],
    ) -> MilestoneMovedResponse:
        """Agree to the client's refund proposal, naming the same amount (the provider)."""
        command = AgreeRefundCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
            amount=money_from_body(data.amount),
        )
        return milestone_moved_response(agree_refund(command))

    @post(
        _MILESTONE + "/refund", status_code=200, sync_to_thread=True, operation_id="refundMilestone", responses=_WRITE
    )
    def refund(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        data: JSONBody[SupportRefundRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        refund_milestone: NamedDependency[RefundMilestone],
    ) -> MilestoneMovedResponse:
        """Refund held money to the client, with a reason (support): all of it, or `amount`."""
        command = RefundMilestoneCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
            reason=data.reason,
            amount=optional_money(data.amount),
        )
        return milestone_moved_response(refund_milestone(command))

    @post(
        _MILESTONE + "/dispute-hold",
        status_code=200,
        sync_to_thread=True,
        operation_id="openDisputeHold",
        responses=_WRITE,
    )
    def open_dispute_hold(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        data: JSONBody[OpenDisputeHoldRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        open_dispute_hold: NamedDependency[OpenDisputeHold],
    ) -> MilestoneMovedResponse:
        """Freeze a funded or submitted milestone (either party): no release, refund,
        auto-release or deadline acts on it until support settles it."""
        command = OpenDisputeHoldCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
            reason=data.reason,
        )
        return milestone_moved_response(open_dispute_hold(command))

    @post(
        _MILESTONE + "/dispute-hold/resolution",
        status_code=200,
        sync_to_thread=True,
        operation_id="resolveDisputeHold",
        responses=_WRITE,
    )
    def resolve_dispute_hold(
        self,
        *,
        contract_id: FromPath[str],
        milestone_id: FromPath[str],
        data: JSONBody[ResolveDisputeHoldRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        resolve_dispute_hold: NamedDependency[ResolveDisputeHold],
    ) -> MilestoneMovedResponse:
        """Settle a dispute hold (support): `release` to the provider (less the fee) and
        `refund` to the client, which must add up to exactly what is held."""
        command = ResolveDisputeHoldCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            contract_id=ContractId(contract_id),
            milestone_id=MilestoneId(milestone_id),
            release=money_from_body(data.release),
            refund=money_from_body(data.refund),
            reason=data.reason,
        )
        return milestone_moved_response(resolve_dispute_hold(command))
