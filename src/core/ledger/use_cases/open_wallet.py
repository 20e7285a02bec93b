from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.ledger.domain import (
    Account,
    AccountAlreadyExists,
    AccountKind,
    Actions,
    OwnerNotFound,
    WalletAlreadyOpen,
    WalletOpened,
    WalletView,
)
from core.ledger.ports import LedgerUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import AccountId, CorrelationId, EventId, IdempotencyKey, UserId, new_id
from core.shared.money import Currency
from core.shared.time import Clock


@frozen(kw_only=True)
class OpenWalletCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    currency: Currency
    owner_id: UserId | None = None  # staff may open a wallet for a user; default: the actor


class OpenWallet:
    """Open a wallet (an available-balance account) for a user in one currency.

    A user opens their own; staff holding ``ledger.wallet.open_any`` may open one for any
    existing user. Idempotent per key. Raises Forbidden, OwnerNotFound, WalletAlreadyOpen.
    Emits WalletOpened."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: OpenWalletCommand) -> WalletView:
        owner = command.owner_id or UserId(command.by.id)
        on_behalf = owner != command.by.id
        action = Actions.OPEN_WALLET_FOR_ANYONE if on_behalf else Actions.OPEN_WALLET

        def body(uow: LedgerUnitOfWork) -> Change[WalletView]:
            if on_behalf and not uow.users.user_exists(owner):
                raise OwnerNotFound(owner)
            existing = uow.accounts.find(owner_id=owner, kind=AccountKind.WALLET, currency=command.currency)
            if existing is not None:
                raise WalletAlreadyOpen(owner, command.currency.code, existing.id)
            now = self._clock.now()
            account = Account.open(
                id=AccountId(new_id("wal")),
                owner_id=owner,
                kind=AccountKind.WALLET,
                currency=command.currency,
                label="",
                at=now,
            )
            try:
                uow.accounts.add(account)
            except AccountAlreadyExists:
                # A concurrent request (with another key) opened it between find and add.
                raise WalletAlreadyOpen(owner, command.currency.code, "(just opened)") from None
            view = WalletView.of(account)
            return Change(
                result=view,
                target=f"wallet:{account.id}",
                after={"owner_id": owner, "currency": command.currency.code},
                events=(
                    WalletOpened(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=account.id,
                        wallet_id=account.id,
                        owner_id=owner,
                        currency=command.currency.code,
                    ),
                ),
            )

        return self._runner.run(command, action=action, target=f"user:{owner}", result_type=WalletView, body=body)
