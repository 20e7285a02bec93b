"""Explicit translations between the wire schemas and the core's commands and results.

Building a core value (``Currency``, ``Money``) validates it, so an unknown currency or an
amount out of range raises the core's InvalidInput here and is answered 422. Times are
sent in UTC whatever the adapter handed back, so a replayed result serialises to the same
bytes as the first answer.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    CurrencyTotalResponse,
    DepositRequest,
    DepositResponse,
    MoneyBody,
    OpenWalletRequest,
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
