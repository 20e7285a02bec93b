from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.ledger.domain import (
    Account,
    AccountKind,
    AccountNotFound,
    Actions,
    EntryKind,
    FundsTransferred,
    InsufficientFunds,
    JournalEntry,
    Posting,
    WalletNotFound,
    apply_entry,
)
from core.ledger.ports import LedgerUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import AccountId, CorrelationId, EntryId, EventId, IdempotencyKey, new_id
from core.shared.money import CurrencyMismatch, Money
from core.shared.time import Clock


@frozen(kw_only=True)
class TransferFundsCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    from_wallet_id: AccountId
    to_wallet_id: AccountId
    amount: Money
    memo: str = ""


@frozen(kw_only=True)
class TransferFundsResult:
    entry_id: EntryId
    from_wallet_id: AccountId
    to_wallet_id: AccountId
    amount: Money
    from_balance: Money


class TransferFunds:
    """Move money from the actor's wallet to another wallet in the same currency.

    Both wallets are locked in id order, the source may not go below zero, and the move
    is one balanced entry. The recipient is named by wallet id; a missing recipient and a
    foreign source are both WalletNotFound. Raises Forbidden, WalletNotFound,
    InvalidInput, CurrencyMismatch, InsufficientFunds. Emits FundsTransferred."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: TransferFundsCommand) -> TransferFundsResult:
        def body(uow: LedgerUnitOfWork) -> Change[TransferFundsResult]:
            if not command.amount.is_positive:
                raise InvalidInput("amount", "a transfer must be positive")
            if command.from_wallet_id == command.to_wallet_id:
                raise InvalidInput("to_wallet_id", "cannot transfer to the same wallet")
            locked = _lock_both(uow, command.from_wallet_id, command.to_wallet_id)
            source, target = locked.get(command.from_wallet_id), locked.get(command.to_wallet_id)
            if source is None or source.kind is not AccountKind.WALLET or source.owner_id != command.by.id:
                raise WalletNotFound(command.from_wallet_id)
            # The sender's own rules first: someone who cannot pay learns nothing about
            # the recipient (not even whether it exists).
            if source.currency != command.amount.currency:
                raise CurrencyMismatch(source.currency.code, command.amount.currency.code)
            if command.amount.exceeds(source.balance):
                raise InsufficientFunds(source.id, source.balance, command.amount)
            if target is None or target.kind is not AccountKind.WALLET:
                raise WalletNotFound(command.to_wallet_id)
            if target.currency != command.amount.currency:
                raise CurrencyMismatch(target.currency.code, command.amount.currency.code)
            now = self._clock.now()
            before = (source.balance, target.balance)
            entry = JournalEntry(
                id=EntryId(new_id("ent")),
                kind=EntryKind.TRANSFER,
                occurred_at=now,
                initiated_by=command.by.ref,
                memo=command.memo,
                postings=(Posting(source.id, command.amount.negated()), Posting(target.id, command.amount)),
            )
            after = apply_entry(entry, {source.id: source, target.id: target})
            uow.accounts.save_balances([source, target])
            uow.journal.append(entry, after)
            return Change(
                result=TransferFundsResult(
                    entry_id=entry.id,
                    from_wallet_id=source.id,
                    to_wallet_id=target.id,
                    amount=command.amount,
                    from_balance=source.balance,
                ),
                target=f"wallet:{source.id}",
                before={"from_balance_minor": before[0].minor, "to_balance_minor": before[1].minor},
                after={
                    "from_balance_minor": source.balance.minor,
                    "to_balance_minor": target.balance.minor,
                    "to_wallet_id": target.id,
                    "entry_id": entry.id,
                },
                events=(
                    FundsTransferred(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=source.id,
                        entry_id=entry.id,
                        from_wallet_id=source.id,
                        to_wallet_id=target.id,
                        amount=command.amount,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.TRANSFER,
            target=f"wallet:{command.from_wallet_id}",
            result_type=TransferFundsResult,
            body=body,
        )


def _lock_both(uow: LedgerUnitOfWork, source: AccountId, target: AccountId) -> dict[AccountId, Account]:
    """Lock both wallets in one ordered statement; if the recipient is missing, lock the
    source alone so its rules can still be checked. Raises WalletNotFound(source)."""
    try:
        return uow.accounts.lock([source, target])
    except AccountNotFound:
        pass
    try:
        return uow.accounts.lock([source])
    except AccountNotFound:
        raise WalletNotFound(source) from None
