from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.ledger.domain import (
    AccountKind,
    Actions,
    EntryKind,
    FundsDeposited,
    JournalEntry,
    Posting,
    SandboxDepositsDisabled,
    apply_entry,
)
from core.ledger.ports import LedgerUnitOfWork
from core.ledger.use_cases.wallet_access import lock_wallet
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import AccountId, CorrelationId, EntryId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock

SANDBOX_GATEWAY = "sandbox"
# Sandbox money is play money: one deposit credits at most 10^9 minor units (10 million of
# a two-decimal currency), so no sequence of deposits can approach a balance's 64 bits.
MAX_SANDBOX_DEPOSIT = 10**9


@frozen(kw_only=True)
class DepositSandboxFundsCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    wallet_id: AccountId
    amount: Money
    memo: str = ""


@frozen(kw_only=True)
class DepositSandboxFundsResult:
    entry_id: EntryId
    wallet_id: AccountId
    amount: Money
    balance: Money


class DepositSandboxFunds:
    """Credit a wallet from the sandbox gateway's clearing account (no real money moves).

    One balanced entry: +amount to the wallet, -amount to the platform's
    ``gateway_clearing/sandbox`` account in that currency. The owner deposits into their
    own wallet; finance may deposit into any. Refused when sandbox deposits are switched
    off. Raises Forbidden, WalletNotFound, InvalidInput, CurrencyMismatch,
    SandboxDepositsDisabled. Emits FundsDeposited."""

    def __init__(
        self,
        new_uow: Callable[[], LedgerUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        *,
        enabled: bool,
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._authorizer = authorizer
        self._clock = clock
        self._enabled = enabled

    def __call__(self, command: DepositSandboxFundsCommand) -> DepositSandboxFundsResult:
        def body(uow: LedgerUnitOfWork) -> Change[DepositSandboxFundsResult]:
            if not self._enabled:
                raise SandboxDepositsDisabled()
            if not command.amount.is_positive:
                raise InvalidInput("amount", "a deposit must be positive")
            if command.amount.minor > MAX_SANDBOX_DEPOSIT:
                raise InvalidInput("amount", f"a sandbox deposit is at most {MAX_SANDBOX_DEPOSIT} minor units")
            wallet = lock_wallet(
                uow.accounts, command.by, command.wallet_id, Actions.DEPOSIT_SANDBOX_ANY, self._authorizer
            )
            now = self._clock.now()
            clearing = uow.accounts.ensure_platform(
                AccountKind.GATEWAY_CLEARING, command.amount.currency, SANDBOX_GATEWAY, at=now
            )
            before = wallet.balance
            entry = JournalEntry(
                id=EntryId(new_id("ent")),
                kind=EntryKind.DEPOSIT,
                occurred_at=now,
                initiated_by=command.by.ref,
                memo=command.memo,
                postings=(
                    Posting(wallet.id, command.amount),
                    Posting(clearing.id, command.amount.negated()),
                ),
            )
            after = apply_entry(entry, {wallet.id: wallet, clearing.id: clearing})
            uow.accounts.save_balances([wallet])
            uow.journal.append(entry, after)
            return Change(
                result=DepositSandboxFundsResult(
                    entry_id=entry.id, wallet_id=wallet.id, amount=command.amount, balance=wallet.balance
                ),
                target=f"wallet:{wallet.id}",
                before={"balance_minor": before.minor},
                after={"balance_minor": wallet.balance.minor, "entry_id": entry.id},
                events=(
                    FundsDeposited(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=wallet.id,
                        entry_id=entry.id,
                        wallet_id=wallet.id,
                        amount=command.amount,
                        source=SANDBOX_GATEWAY,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.DEPOSIT_SANDBOX,
            target=f"wallet:{command.wallet_id}",
            result_type=DepositSandboxFundsResult,
            body=body,
        )
