from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.payments.domain import Actions, PaymentId, PaymentNotFound, PaymentView
from core.payments.ports import PaymentsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden


@frozen(kw_only=True)
class GetPaymentQuery:
    by: Actor
    payment_id: PaymentId


class GetPayment:
    """A payment with its refunds, for its payer and for support, finance and admin.
    Reads only. Raises Forbidden, PaymentNotFound (also for a payment that is not the
    actor's)."""

    def __init__(self, new_uow: Callable[[], PaymentsUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: GetPaymentQuery) -> PaymentView:
        if not self._authorizer.allows(query.by, Actions.READ_PAYMENT):
            raise Forbidden(Actions.READ_PAYMENT)
        with self._new_uow() as uow:
            payment = uow.payments.get(query.payment_id)
        if payment.payer_id != query.by.id and not self._authorizer.allows(query.by, Actions.READ_ANY_PAYMENT):
            raise PaymentNotFound(query.payment_id)
        return PaymentView.of(payment)
