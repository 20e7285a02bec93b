from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions, PayoutId, PayoutNotFound, PayoutView
from core.escrow.ports import EscrowUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden


@frozen(kw_only=True)
class GetPayoutQuery:
    by: Actor
    payout_id: PayoutId


class GetPayout:
    """A payout, for its payee and for finance, support and admin. Reads only. Raises
    Forbidden, PayoutNotFound (also for a payout that is not the actor's)."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: GetPayoutQuery) -> PayoutView:
        if not self._authorizer.allows(query.by, Actions.READ_PAYOUT):
            raise Forbidden(Actions.READ_PAYOUT)
        with self._new_uow() as uow:
            payout = uow.payouts.get(query.payout_id)
        if payout.payee_id != query.by.id and not self._authorizer.allows(query.by, Actions.READ_ANY_PAYOUT):
            raise PayoutNotFound(query.payout_id)
        return PayoutView.of(payout)
