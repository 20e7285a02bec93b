from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.payments.domain import Actions, AlertKind, PaymentAlertRaised, PaymentId, PaymentStatus, TimerKinds
from core.payments.ports import PaymentsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.commands import Change, CommandRunner
from core.shared.errors import DomainError, InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.time import Clock
from core.shared.timers import OBSOLETE, Timer, postpone_failed

MAX_BATCH = 1_000


@frozen(kw_only=True)
class CheckHoldDeadlinesCommand:
    by: Actor
    correlation_id: CorrelationId
    limit: int = 100


@frozen(kw_only=True)
class HoldDeadlineTimerCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    timer_id: str


@frozen(kw_only=True)
class HoldDeadlineChecked:
    timer_id: str
    payment_id: PaymentId
    outcome: str  # "alerted" | "obsolete"


@frozen(kw_only=True)
class CheckHoldDeadlinesResult:
    checked: tuple[HoldDeadlineChecked, ...]
    failed: tuple[str, ...]  # timer ids whose handler failed; postponed (FAILED_TIMER_RETRY)


class CheckHoldDeadlines:
    """The hold-deadline guard. A payment that funds an escrow through a provider with a
    holding limit (Stripe's manual payouts: 90 days, 2 years in the US, 10 days in
    Thailand) gets a deadline when it is captured, and a ``payments.hold_deadline`` timer
    that warning period before it. When the timer fires and the payment still holds money
    (not fully refunded), a PaymentAlertRaised (hold_deadline_approaching) names the
    payment, its milestone and the deadline, so the escrow is released or refunded in
    time. Each timer fires once (key ``timer:<id>``); one whose handler fails is reported
    in ``failed`` and postponed by ``FAILED_TIMER_RETRY``, so the ones behind it still
    fire. Raises Forbidden, InvalidInput."""

    def __init__(self, new_uow: Callable[[], PaymentsUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._new_uow = new_uow
        self._authorizer = authorizer
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: CheckHoldDeadlinesCommand) -> CheckHoldDeadlinesResult:
        if isinstance(command.limit, bool) or not isinstance(command.limit, int) or not 1 <= command.limit <= MAX_BATCH:
            raise InvalidInput("limit", f"an integer from 1 to {MAX_BATCH}")
        if not self._authorizer.allows(command.by, Actions.CHECK_HOLD_DEADLINE):
            raise Forbidden(Actions.CHECK_HOLD_DEADLINE)
        with self._new_uow() as uow:
            due = uow.timers.due(self._clock.now(), kinds=(TimerKinds.HOLD_DEADLINE,), limit=command.limit)
        checked: list[HoldDeadlineChecked] = []
        failed: list[str] = []
        for timer in due:
            fire = HoldDeadlineTimerCommand(
                by=command.by,
                idempotency_key=IdempotencyKey(f"timer:{timer.id}"),
                correlation_id=command.correlation_id,
                timer_id=timer.id,
            )
            try:
                checked.append(
                    self._runner.run(
                        fire,
                        action=Actions.CHECK_HOLD_DEADLINE,
                        target=f"payment:{timer.text('payment_id')}",
                        result_type=HoldDeadlineChecked,
                        body=self._body(fire, timer),
                    )
                )
            except DomainError:
                failed.append(timer.id)
                postpone_failed(self._new_uow, timer.id, now=self._clock.now())
            except Exception:  # a bug in one timer (a malformed payload) must not stall the others
                failed.append(timer.id)
                postpone_failed(self._new_uow, timer.id, now=self._clock.now())
        return CheckHoldDeadlinesResult(checked=tuple(checked), failed=tuple(failed))

    def _body(
        self, command: HoldDeadlineTimerCommand, due: Timer
    ) -> Callable[[PaymentsUnitOfWork], Change[HoldDeadlineChecked]]:
        def body(uow: PaymentsUnitOfWork) -> Change[HoldDeadlineChecked]:
            now = self._clock.now()
            payment_id = PaymentId(due.text("payment_id"))
            timer = uow.timers.claim(command.timer_id)
            payment = uow.payments.get(payment_id)
            target = f"payment:{payment.id}"
            if timer is None or payment.status is PaymentStatus.REFUNDED or payment.hold_deadline is None:
                if timer is not None:
                    uow.timers.mark_fired(timer.id, at=now, outcome=OBSOLETE)
                result = HoldDeadlineChecked(timer_id=command.timer_id, payment_id=payment.id, outcome=OBSOLETE)
                return Change(result=result, target=target, after={"outcome": OBSOLETE})
            uow.timers.mark_fired(timer.id, at=now, outcome="alerted")
            escrow = payment.escrow
            where = f" for milestone {escrow.milestone_id} of {escrow.contract_id}" if escrow is not None else ""
            alert = PaymentAlertRaised.about(
                payment.id,
                kind=AlertKind.HOLD_DEADLINE_APPROACHING,
                provider=payment.provider or "",
                at=now,
                summary=(
                    f"{payment.provider} holds {payment.amount} of payment {payment.id}{where} "
                    f"only until {payment.hold_deadline.isoformat()}: release or refund it before then"
                ),
            )
            return Change(
                result=HoldDeadlineChecked(timer_id=timer.id, payment_id=payment.id, outcome="alerted"),
                target=target,
                after={"outcome": "alerted", "deadline": payment.hold_deadline.isoformat()},
                events=(alert,),
            )

        return body
