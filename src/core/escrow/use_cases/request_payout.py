from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    Actions,
    EscrowPolicy,
    PayeeNotFound,
    Payout,
    PayoutId,
    PayoutRequested,
    PayoutStatus,
    PayoutView,
    positive,
)
from core.escrow.ports import AccountKinds, EntryKinds, EscrowUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class RequestPayoutCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    amount: Money
    payee_id: str | None = None  # finance may request for a payee; default: the actor


class RequestPayout:
    """A provider (agency, mentor) asks for ``amount`` of their available money to be
    paid out; finance may ask on a payee's behalf. One entry, wallet -> payout in transit,
    so the money can no longer be spent twice. The amount fixes how many distinct finance
    approvals it needs (the configured bands); none means it is APPROVED at once.
    Raises Forbidden, InvalidInput, PayeeNotFound, InsufficientFunds.
    Emits PayoutRequested."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: RequestPayoutCommand) -> PayoutView:
        payee = command.payee_id or command.by.id
        on_behalf = payee != command.by.id
        action = Actions.REQUEST_PAYOUT_FOR_ANYONE if on_behalf else Actions.REQUEST_PAYOUT

        def body(uow: EscrowUnitOfWork) -> Change[PayoutView]:
            amount = positive("amount", command.amount, command.amount.currency)
            payout_id = PayoutId(new_id("pay"))
            if on_behalf:
                personas = uow.parties.personas(payee)
                if personas is None or any(p.is_staff for p in personas):
                    raise PayeeNotFound(payee)
            now, book = self._clock.now(), uow.book
            wallet = book.account(owner_id=payee, kind=AccountKinds.WALLET, currency=amount.currency, at=now)
            transit = book.account(
                owner_id=payee, kind=AccountKinds.PAYOUT_IN_TRANSIT, currency=amount.currency, at=now
            )
            entry_id = book.post(
                kind=EntryKinds.PAYOUT_REQUEST,
                memo=f"payout {payout_id} requested",
                initiated_by=command.by.ref,
                legs=[(wallet, amount.negated()), (transit, amount)],
                at=now,
            )
            required = self._policy.payout_bands.required_approvals(amount)
            payout = Payout(
                id=payout_id,
                payee_id=payee,
                requested_by=command.by.id,
                amount=amount,
                status=PayoutStatus.APPROVED if required == 0 else PayoutStatus.REQUESTED,
                required_approvals=required,
                approvals=(),
                wallet_account_id=wallet,
                transit_account_id=transit,
                requested_at=now,
            )
            uow.payouts.add(payout)
            return Change(
                result=PayoutView.of(payout),
                target=f"payout:{payout.id}",
                after={
                    "payee_id": payee,
                    "amount_minor": amount.minor,
                    "currency": amount.currency.code,
                    "required_approvals": required,
                    "status": payout.status.value,
                    "entry_id": entry_id,
                },
                events=(
                    PayoutRequested(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=payout.id,
                        payout_id=payout.id,
                        payee_id=payee,
                        amount=amount,
                        required_approvals=required,
                        entry_id=entry_id,
                    ),
                ),
            )

        return self._runner.run(command, action=action, target=f"user:{payee}", result_type=PayoutView, body=body)
