from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions
from core.escrow.ports import AccountKinds, EscrowUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.money import Currency, Money


@frozen(kw_only=True)
class GetEarningsQuery:
    by: Actor
    currency: Currency
    user_id: str | None = None  # staff may look at anyone's; default: the actor


@frozen(kw_only=True)
class EarningsView:
    user_id: str
    pending: Money  # released, still in the clearing period
    available: Money  # the wallet: can be spent or paid out
    in_transit: Money  # requested payouts not yet paid or failed


class GetEarnings:
    """A user's money in one currency by stage: pending, available, in transit. Reads
    only. A user sees their own; support, finance and admin anyone's. Raises Forbidden."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: GetEarningsQuery) -> EarningsView:
        user = query.user_id or query.by.id
        action = Actions.READ_EARNINGS if user == query.by.id else Actions.READ_ANY_EARNINGS
        if not self._authorizer.allows(query.by, action):
            raise Forbidden(action)
        with self._new_uow() as uow:

            def balance(kind: str) -> Money:
                account = uow.book.find_account(owner_id=user, kind=kind, currency=query.currency)
                return Money.zero(query.currency) if account is None else uow.book.balance(account)

            return EarningsView(
                user_id=user,
                pending=balance(AccountKinds.WALLET_PENDING),
                available=balance(AccountKinds.WALLET),
                in_transit=balance(AccountKinds.PAYOUT_IN_TRANSIT),
            )
