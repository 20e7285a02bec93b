from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.ledger.domain import AccountKind, Actions, WalletView
from core.ledger.ports import LedgerUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden


@frozen(kw_only=True)
class ListWalletsQuery:
    by: Actor
    owner_id: str | None = None  # staff with read-any may list another user's wallets


@frozen(kw_only=True)
class WalletList:
    wallets: tuple[WalletView, ...]


class ListWallets:
    """The wallets of the actor (or, for staff with read-any, of ``owner_id``).
    Raises Forbidden when a user asks for someone else's."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: ListWalletsQuery) -> WalletList:
        owner = query.owner_id or query.by.id
        action = Actions.READ_WALLET if owner == query.by.id else Actions.READ_ANY_WALLET
        if not self._authorizer.allows(query.by, action):
            raise Forbidden(action)
        with self._new_uow() as uow:
            accounts = uow.accounts.of_owner(owner, AccountKind.WALLET)
            return WalletList(wallets=tuple(WalletView.of(a) for a in accounts))
