from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from core.ledger.domain import Actions
from core.ledger.ports import LedgerUnitOfWork
from core.ledger.use_cases.wallet_access import visible_wallet
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.ids import AccountId
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class GetBalanceQuery:
    by: Actor
    wallet_id: AccountId


@frozen(kw_only=True)
class BalanceView:
    wallet_id: AccountId
    available: Money
    as_of: datetime


class GetBalance:
    """The available balance of a wallet the actor may see. Reads only.
    Raises Forbidden, WalletNotFound (also for a wallet that is not the actor's)."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._new_uow, self._authorizer, self._clock = new_uow, authorizer, clock

    def __call__(self, query: GetBalanceQuery) -> BalanceView:
        if not self._authorizer.allows(query.by, Actions.READ_WALLET):
            raise Forbidden(Actions.READ_WALLET)
        with self._new_uow() as uow:
            wallet = visible_wallet(uow.accounts, query.by, query.wallet_id, self._authorizer)
            return BalanceView(wallet_id=wallet.id, available=wallet.balance, as_of=self._clock.now())
