from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.payments.destinations import DestinationActions
from core.payments.ports import PayoutDestinationsUnitOfWork
from core.payments.use_cases.register_payout_destination import PayoutDestinationView
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden


@frozen(kw_only=True)
class GetPayoutDestinationsQuery:
    by: Actor
    payee_id: str | None = None  # None: the actor's own


class GetPayoutDestinations:
    """A payee's payout destinations, ordered by provider: the actor's own, or (support,
    finance, admin) anyone's. Reads only. Raises Forbidden."""

    def __init__(self, new_uow: Callable[[], PayoutDestinationsUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: GetPayoutDestinationsQuery) -> tuple[PayoutDestinationView, ...]:
        if not self._authorizer.allows(query.by, DestinationActions.READ):
            raise Forbidden(DestinationActions.READ)
        payee = query.by.id if query.payee_id is None else query.payee_id
        if payee != query.by.id and not self._authorizer.allows(query.by, DestinationActions.READ_ANY):
            raise Forbidden(DestinationActions.READ_ANY)
        with self._new_uow() as uow:
            found = uow.payout_destinations.of_payee(payee)
        return tuple(PayoutDestinationView.of(d) for d in found)
