from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    Actions,
    PayoutExecutionStarted,
    PayoutFailed,
    PayoutId,
    PayoutPaid,
    PayoutStatus,
    PayoutView,
)
from core.escrow.ports import PLATFORM, AccountKinds, EntryKinds, EscrowUnitOfWork, PayoutGateway
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.events import DomainEvent
from core.shared.gateways import GatewayDeclined
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class ExecutePayoutCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payout_id: PayoutId


@frozen(kw_only=True)
class CompletePayoutCommand:
    """The gateway's answer, recorded in a second transaction (built by ExecutePayout;
    its key is ``payout:<id>:complete``)."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payout_id: PayoutId
    reference: str | None
    declined: str | None


_COMPLETER = Actor.system("payouts")


class ExecutePayout:
    """Send an approved payout through the gateway, exactly once.

    Intent, call, outcome (house style 3.6), with no transaction open during the call:
    1. mark it EXECUTING (audited; an EXECUTING payout whose outcome is unknown may be
       executed again);
    2. ``gateway.send`` with the payout id as the gateway's idempotency key, so however
       often this runs the payee is paid once;
    3. record the answer: PAID (in transit -> the gateway's clearing account) or, on a
       decline, FAILED (in transit -> back to the payee's wallet).
    If the gateway is unavailable the payout stays EXECUTING and GatewayUnavailable is
    raised: retry (with the same idempotency key or a new one). A dry run stops after
    step 1, before the gateway. Raises Forbidden, PayoutNotFound, IllegalTransition (not
    approved yet, or finished already), GatewayUnavailable. A decline is not an error:
    the result says FAILED with the gateway's reason. Emits PayoutExecutionStarted,
    PayoutPaid or PayoutFailed.
    """

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, gateway: PayoutGateway
    ) -> None:
        self._new_uow = new_uow
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._gateway = gateway

    def __call__(self, command: ExecutePayoutCommand) -> PayoutView:
        started = self._runner.run(
            command,
            action=Actions.EXECUTE_PAYOUT,
            target=f"payout:{command.payout_id}",
            result_type=PayoutView,
            body=self._start(command),
        )
        # Decide on what is stored now, not on the (possibly replayed) start result. If
        # the start is not stored (a dry run rolled it back), the gateway is not called.
        with self._new_uow() as uow:
            payout = uow.payouts.get(command.payout_id)
        if payout.status is not PayoutStatus.EXECUTING or payout.attempts < started.attempts:
            return PayoutView.of(payout)  # finished by an earlier call, or a dry run
        reference: str | None = None
        declined: str | None = None
        try:
            reference = self._gateway.send(payout.id, payout.payee_id, payout.amount, idempotency_key=payout.id)
        except GatewayDeclined as error:
            declined = error.reason or "declined"
        # GatewayUnavailable propagates: the payout stays EXECUTING for a retry.
        complete = CompletePayoutCommand(
            # Recorded by the system, not the caller: a key in the caller's scope could have
            # been used already (by the caller, for anything) and block the completion.
            by=_COMPLETER,
            idempotency_key=IdempotencyKey(f"payout:{payout.id}:complete"),
            correlation_id=command.correlation_id,
            payout_id=payout.id,
            reference=reference,
            declined=declined,
        )
        return self._runner.run(
            complete,
            action=Actions.COMPLETE_PAYOUT,
            target=f"payout:{payout.id}",
            result_type=PayoutView,
            body=self._complete(complete),
        )

    def _start(self, command: ExecutePayoutCommand) -> Callable[[EscrowUnitOfWork], Change[PayoutView]]:
        def body(uow: EscrowUnitOfWork) -> Change[PayoutView]:
            payout = uow.payouts.lock(command.payout_id)
            before = payout.status.value
            payout.start_execution(gateway=self._gateway.name)
            uow.payouts.save(payout)
            now = self._clock.now()
            return Change(
                result=PayoutView.of(payout),
                target=f"payout:{payout.id}",
                before={"status": before},
                after={"status": payout.status.value, "attempt": payout.attempts, "gateway": self._gateway.name},
                events=(
                    PayoutExecutionStarted(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=payout.id,
                        payout_id=payout.id,
                        attempt=payout.attempts,
                    ),
                ),
            )

        return body

    def _complete(self, command: CompletePayoutCommand) -> Callable[[EscrowUnitOfWork], Change[PayoutView]]:
        def body(uow: EscrowUnitOfWork) -> Change[PayoutView]:
            payout = uow.payouts.lock(command.payout_id)
            target = f"payout:{payout.id}"
            if payout.status is not PayoutStatus.EXECUTING:
                # A concurrent execution recorded the (same) answer first.
                return Change(result=PayoutView.of(payout), target=target, after={"status": payout.status.value})
            now, book, amount = self._clock.now(), uow.book, payout.amount
            event: DomainEvent
            if command.declined is None and command.reference is not None:
                payout.paid(reference=command.reference, at=now)
                clearing = book.account(
                    owner_id=PLATFORM,
                    kind=AccountKinds.GATEWAY_CLEARING,
                    currency=amount.currency,
                    label=payout.gateway or self._gateway.name,
                    at=now,
                )
                entry_id = book.post(
                    kind=EntryKinds.PAYOUT_PAID,
                    memo=f"payout {payout.id} paid",
                    initiated_by=command.by.ref,
                    legs=[(payout.transit_account_id, amount.negated()), (clearing, amount)],
                    at=now,
                )
                event = PayoutPaid(
                    event_id=EventId(new_id("evt")),
                    occurred_at=now,
                    aggregate_id=payout.id,
                    payout_id=payout.id,
                    payee_id=payout.payee_id,
                    amount=amount,
                    reference=command.reference,
                    entry_id=entry_id,
                )
            else:
                reason = command.declined or "declined"
                payout.failed(reason=reason, at=now)
                entry_id = book.post(
                    kind=EntryKinds.PAYOUT_FAILED,
                    memo=f"payout {payout.id} declined, returned to the wallet",
                    initiated_by=command.by.ref,
                    legs=[(payout.transit_account_id, amount.negated()), (payout.wallet_account_id, amount)],
                    at=now,
                )
                event = PayoutFailed(
                    event_id=EventId(new_id("evt")),
                    occurred_at=now,
                    aggregate_id=payout.id,
                    payout_id=payout.id,
                    payee_id=payout.payee_id,
                    amount=amount,
                    reason=reason,
                    entry_id=entry_id,
                )
            uow.payouts.save(payout)
            return Change(
                result=PayoutView.of(payout),
                target=target,
                before={"status": "executing"},
                after={"status": payout.status.value, "entry_id": entry_id, "reference": payout.reference or ""},
                events=(event,),
            )

        return body
