"""Explicit translations between the wire schemas and the core's commands and results.

Building a core value (``Currency``, ``Money``) validates it, so an unknown currency or an
amount out of range raises the core's InvalidInput here and is answered 422. Times are
sent in UTC whatever the adapter handed back, so a replayed result serialises to the same
bytes as the first answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.escrow.domain import ContractView, MilestoneMoved, MilestoneView, PayoutView, TimeoutOutcome
from core.escrow.use_cases.create_contract import CreateContractCommand, MilestoneSpec
from core.escrow.use_cases.get_earnings import EarningsView
from core.escrow.use_cases.request_payout import RequestPayoutCommand
from core.ledger.domain import StatementLine, WalletView
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand, DepositSandboxFundsResult
from core.ledger.use_cases.get_balance import BalanceView
from core.ledger.use_cases.get_statement import StatementPage
from core.ledger.use_cases.list_wallets import WalletList
from core.ledger.use_cases.open_wallet import OpenWalletCommand
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshotsResult
from core.ledger.use_cases.transfer_funds import TransferFundsCommand, TransferFundsResult
from core.shared.actor import Actor
from core.shared.ids import AccountId, CorrelationId, IdempotencyKey, UserId
from core.shared.money import Currency, Money
from entrypoints.http.schemas import (
    ActorResponse,
    BalanceResponse,
    ContractResponse,
    CreateContractRequest,
    CurrencyTotalResponse,
    DepositRequest,
    DepositResponse,
    EarningsResponse,
    FeeScheduleResponse,
    MilestoneMovedResponse,
    MilestoneResponse,
    MilestoneSpecBody,
    MoneyBody,
    OpenWalletRequest,
    PayoutResponse,
    RequestPayoutRequest,
    SnapshotResponse,
    StatementLineResponse,
    StatementResponse,
    TransferRequest,
    TransferResponse,
    WalletListResponse,
    WalletResponse,
)


def money_from_body(body: MoneyBody) -> Money:
    """Raises InvalidInput for an unknown currency or an amount out of range."""
    return Money(body.minor, Currency(body.currency))


def money_body(money: Money) -> MoneyBody:
    return MoneyBody(minor=money.minor, currency=money.currency.code)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# ---- requests -> commands -----------------------------------------------------------


def open_wallet_command(
    data: OpenWalletRequest, *, by: Actor, key: IdempotencyKey, correlation: CorrelationId
) -> OpenWalletCommand:
    return OpenWalletCommand(
        by=by,
        idempotency_key=key,
        correlation_id=correlation,
        currency=Currency(data.currency),
        owner_id=UserId(data.owner_id) if data.owner_id is not None else None,
    )


def deposit_command(
    wallet_id: str, data: DepositRequest, *, by: Actor, key: IdempotencyKey, correlation: CorrelationId
) -> DepositSandboxFundsCommand:
    return DepositSandboxFundsCommand(
        by=by,
        idempotency_key=key,
        correlation_id=correlation,
        wallet_id=AccountId(wallet_id),
        amount=money_from_body(data.amount),
        memo=data.memo,
    )


def transfer_command(
    data: TransferRequest, *, by: Actor, key: IdempotencyKey, correlation: CorrelationId
) -> TransferFundsCommand:
    return TransferFundsCommand(
        by=by,
        idempotency_key=key,
        correlation_id=correlation,
        from_wallet_id=AccountId(data.from_wallet_id),
        to_wallet_id=AccountId(data.to_wallet_id),
        amount=money_from_body(data.amount),
        memo=data.memo,
    )


# ---- results -> responses -----------------------------------------------------------


def wallet_response(view: WalletView) -> WalletResponse:
    return WalletResponse(
        wallet_id=view.wallet_id,
        owner_id=view.owner_id,
        currency=view.currency,
        balance=money_body(view.balance),
        opened_at=utc(view.opened_at),
    )


def wallet_list_response(found: WalletList) -> WalletListResponse:
    return WalletListResponse(wallets=tuple(wallet_response(w) for w in found.wallets))


def balance_response(view: BalanceView) -> BalanceResponse:
    return BalanceResponse(wallet_id=view.wallet_id, available=money_body(view.available), as_of=utc(view.as_of))


def statement_line_response(line: StatementLine) -> StatementLineResponse:
    return StatementLineResponse(
        entry_id=line.entry_id,
        kind=line.kind.value,
        occurred_at=utc(line.occurred_at),
        memo=line.memo,
        amount=money_body(line.amount),
        balance_after=money_body(line.balance_after) if line.balance_after is not None else None,
    )


def statement_response(page: StatementPage) -> StatementResponse:
    return StatementResponse(
        wallet_id=page.wallet_id,
        balance=money_body(page.balance),
        lines=tuple(statement_line_response(line) for line in page.lines),
        next_cursor=page.next_cursor,
    )


def deposit_response(result: DepositSandboxFundsResult) -> DepositResponse:
    return DepositResponse(
        entry_id=result.entry_id,
        wallet_id=result.wallet_id,
        amount=money_body(result.amount),
        balance=money_body(result.balance),
    )


def transfer_response(result: TransferFundsResult) -> TransferResponse:
    return TransferResponse(
        entry_id=result.entry_id,
        from_wallet_id=result.from_wallet_id,
        to_wallet_id=result.to_wallet_id,
        amount=money_body(result.amount),
        from_balance=money_body(result.from_balance),
    )


def snapshot_response(result: TakeBalanceSnapshotsResult) -> SnapshotResponse:
    return SnapshotResponse(
        snapshot_id=result.snapshot_id,
        taken_at=utc(result.taken_at),
        totals=tuple(
            CurrencyTotalResponse(currency=t.currency, accounts=t.accounts, total_minor=t.total_minor)
            for t in result.totals
        ),
    )


def actor_response(actor: Actor) -> ActorResponse:
    return ActorResponse(kind=actor.kind.value, id=actor.id, personas=tuple(sorted(p.value for p in actor.personas)))


# ---- escrow: requests -> commands ---------------------------------------------------


def milestone_spec(body: MilestoneSpecBody) -> MilestoneSpec:
    return MilestoneSpec(
        title=body.title,
        amount=money_from_body(body.amount),
        due_at=body.due_at,
        timeout_outcome=TimeoutOutcome(body.timeout_outcome),
        auto_release_days=body.auto_release_days,
    )


def create_contract_command(
    data: CreateContractRequest, *, by: Actor, key: IdempotencyKey, correlation: CorrelationId
) -> CreateContractCommand:
    return CreateContractCommand(
        by=by,
        idempotency_key=key,
        correlation_id=correlation,
        provider_id=data.provider_id,
        currency=Currency(data.currency),
        milestones=tuple(milestone_spec(m) for m in data.milestones),
    )


def request_payout_command(
    data: RequestPayoutRequest, *, by: Actor, key: IdempotencyKey, correlation: CorrelationId
) -> RequestPayoutCommand:
    return RequestPayoutCommand(
        by=by,
        idempotency_key=key,
        correlation_id=correlation,
        amount=money_from_body(data.amount),
        payee_id=data.payee_id,
    )


def optional_money(body: MoneyBody | None) -> Money | None:
    return None if body is None else money_from_body(body)


# ---- escrow: results -> responses ---------------------------------------------------


def _optional_body(money: Money | None) -> MoneyBody | None:
    return None if money is None else money_body(money)


def milestone_response(view: MilestoneView) -> MilestoneResponse:
    return MilestoneResponse(
        milestone_id=view.milestone_id,
        position=view.position,
        title=view.title,
        amount=money_body(view.amount),
        fee_preview=money_body(view.fee_preview),
        net_preview=money_body(view.net_preview),
        due_at=utc(view.due_at),
        timeout_outcome=view.timeout_outcome.value,
        auto_release_days=view.auto_release_days,
        status=view.status.value,
        held=money_body(view.held),
        released=money_body(view.released),
        refunded=money_body(view.refunded),
        fees=money_body(view.fees),
        submissions=view.submissions,
        changes_requested=view.changes_requested,
        refund_proposal=_optional_body(view.refund_proposal),
    )


def contract_response(view: ContractView) -> ContractResponse:
    return ContractResponse(
        contract_id=view.contract_id,
        client_id=view.client_id,
        provider_id=view.provider_id,
        currency=view.currency,
        fee=FeeScheduleResponse(
            tier=view.fee_tier, bps=view.fee_bps, min_minor=view.fee_min_minor, max_minor=view.fee_max_minor
        ),
        status=view.status.value,
        created_at=utc(view.created_at),
        milestones=tuple(milestone_response(m) for m in view.milestones),
        version=view.version,
    )


def milestone_moved_response(moved: MilestoneMoved) -> MilestoneMovedResponse:
    return MilestoneMovedResponse(
        contract_id=moved.contract_id,
        milestone_id=moved.milestone_id,
        status=moved.status.value,
        held=money_body(moved.held),
        entry_id=moved.entry_id,
        release_id=moved.release_id,
        gross=_optional_body(moved.gross),
        fee=_optional_body(moved.fee),
        net=_optional_body(moved.net),
        refunded=_optional_body(moved.refunded),
    )


def earnings_response(view: EarningsView) -> EarningsResponse:
    return EarningsResponse(
        user_id=view.user_id,
        pending=money_body(view.pending),
        available=money_body(view.available),
        in_transit=money_body(view.in_transit),
    )


def payout_response(view: PayoutView) -> PayoutResponse:
    return PayoutResponse(
        payout_id=view.payout_id,
        payee_id=view.payee_id,
        requested_by=view.requested_by,
        amount=money_body(view.amount),
        status=view.status.value,
        required_approvals=view.required_approvals,
        approvals=view.approvals,
        attempts=view.attempts,
        reference=view.reference,
        failure_reason=view.failure_reason,
        requested_at=utc(view.requested_at),
    )
