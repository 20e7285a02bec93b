"""Capturing an authorised payment: a PayPal order the payer approved, or a payment a
provider authorised without capturing it.

Two ways in, one capture: the payer, back from approving at the provider, asks for it
(``CapturePayment.__call__``, HTTP ``POST /v1/payments/{id}/capture``), and the
``payments.capture`` timer that every payment reaching AUTHORIZED gets (due at once, then
on the janitor's schedule) does it when nobody asks. Both send the same outbound key
(``capture_key``), so the provider captures once however often, and whoever asks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from attrs import frozen

from core.payments.domain import (
    Actions,
    AlertKind,
    CaptureRequest,
    Payment,
    PaymentAlertRaised,
    PaymentId,
    PaymentNotFound,
    PaymentStatus,
    PaymentView,
    ProviderStatus,
    TimerKinds,
    capture_key,
)
from core.payments.ports import PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import (
    DEFAULT_HOLD_WARNING,
    after_change,
    capture_reported,
    capture_timer,
    next_attempt,
)
from core.payments.use_cases.routing import Router
from core.payments.use_cases.waiting_events import apply_waiting_events
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.commands import Change, CommandRunner
from core.shared.errors import DomainError, InvalidInput
from core.shared.events import DomainEvent
from core.shared.gateways import GatewayDeclined
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import Money
from core.shared.time import Clock
from core.shared.timers import OBSOLETE, Timer, fire_each

MAX_BATCH = 1_000
# A capture's answer applies to an AUTHORIZED payment; the payer's return may also find the
# provider's approval of one still REQUIRES_ACTION here (its webhook not yet arrived).
_CAPTURABLE = frozenset({PaymentStatus.REQUIRES_ACTION, PaymentStatus.AUTHORIZED})
RECORDER = Actor.system("payments")


@frozen(kw_only=True)
class CapturePaymentCommand:
    """The payer asks to capture their payment now (back from approving it at PayPal).
    A payment that is not waiting for a capture is answered as it is."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId


@frozen(kw_only=True)
class CaptureDuePaymentsCommand:
    """Fire the due ``payments.capture`` timers (the timer scheduler, as the system)."""

    by: Actor
    correlation_id: CorrelationId
    limit: int = 100


@frozen(kw_only=True)
class CaptureAnswer:
    """What the provider said to the capture: a ``status`` (a ProviderStatus value) with
    what it took, a refusal (``declined`` with its reason), or no answer (``error`` names
    the gateway error's code)."""

    status: str | None = None
    amount: Money | None = None
    capture_reference: str | None = None  # the provider's capture id (PayPal), when it said
    declined: bool = False
    reason: str = ""
    error: str | None = None


@frozen(kw_only=True)
class RecordCaptureCommand:
    """A capture's answer, recorded in its own transaction. From a timer: key
    ``timer:<id>`` and the timer is claimed with it; from the payer's request: key
    ``<payment id>:capture:<version read>:<answer>``."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    answer: CaptureAnswer | None  # None: nothing to capture any more when it was read
    timer_id: str | None = None


@frozen(kw_only=True)
class CaptureOutcome:
    payment: PaymentView
    outcome: str  # "captured" | "failed" | "retry" (still authorised) | "obsolete"
    timer_id: str | None = None


@frozen(kw_only=True)
class CaptureDuePaymentsResult:
    fired: tuple[CaptureOutcome, ...]
    failed: tuple[str, ...]  # timer ids whose handler failed; postponed (FAILED_TIMER_RETRY)


class CapturePayment:
    """Capture an AUTHORIZED payment, once, with no transaction open during the call.

    1. read the payment (the payer's own; anyone else gets PaymentNotFound); for the
       payer's request, a payment still REQUIRES_ACTION (back from PayPal before its
       webhook) is looked up first, and recorded AUTHORIZED when the payer approved;
    2. ``gateway.capture`` with ``capture_key(payment id)``;
    3. record the answer: CAPTURED posts clearing -> wallet (what the provider took, never
       more than the intent) exactly once, as every other way of learning of a capture
       does; PROCESSING waits for the provider's webhook; a refusal is believed only after
       a lookup says the payment is not captured (a refusal of a second capture means it
       was captured) and then FAILS the payment; no answer leaves it AUTHORIZED for the
       next timer (same key). A timer that finds the payment still AUTHORIZED after its
       attempt schedules the next one (``resolve_delay``); reaching the daily step raises
       one alert. A timer whose handler fails with a domain error (its payment is gone,
       say) is reported in ``failed`` and postponed by ``FAILED_TIMER_RETRY``, so the
       timers behind it still fire (if the postponing fails too, it stays due as it was).

    The payer's request is audited and idempotent like every command (a replay answers the
    payment as it is now). Raises Forbidden, PaymentNotFound, InvalidInput (``limit``) and
    DependencyUnavailable. Emits PaymentStatusChanged, PaymentCaptured, PaymentAlertRaised.
    """

    def __init__(
        self,
        new_uow: Callable[[], PaymentsUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        router: Router,
        hold_warning: timedelta = DEFAULT_HOLD_WARNING,
    ) -> None:
        self._new_uow = new_uow
        self._authorizer = authorizer
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._router = router
        self._hold_warning = hold_warning

    # -- the payer's request ---------------------------------------------------------------

    def __call__(self, command: CapturePaymentCommand) -> PaymentView:
        asked = self._runner.run(
            command,
            action=Actions.CAPTURE,
            target=f"payment:{command.payment_id}",
            result_type=PaymentView,
            body=self._asked(command),
        )
        with self._new_uow() as uow:
            payment = uow.payments.get(asked.payment_id)
        if payment.status is PaymentStatus.REQUIRES_ACTION:
            # Back before the provider's webhook: ask the provider whether the payer approved
            # (capturing an order not approved would be refused, and would fail the payment).
            answer = self._approval(payment)
            if answer is None:
                return PaymentView.of(payment)
            self._record(self._recording(payment, answer, command.correlation_id))
            with self._new_uow() as uow:
                payment = uow.payments.get(asked.payment_id)
        if payment.status is not PaymentStatus.AUTHORIZED:
            return PaymentView.of(payment)
        return self._record(self._recording(payment, self._capture(payment), command.correlation_id)).payment

    def _recording(self, payment: Payment, answer: CaptureAnswer, correlation: CorrelationId) -> RecordCaptureCommand:
        said = answer.error or answer.status or ("declined" if answer.declined else "none")
        return RecordCaptureCommand(
            by=RECORDER,
            idempotency_key=IdempotencyKey(f"{payment.id}:capture:{payment.version}:{said}"),
            correlation_id=correlation,
            payment_id=payment.id,
            answer=answer,
        )

    def _approval(self, payment: Payment) -> CaptureAnswer | None:
        """The provider's record of a payment waiting for its payer, when it moved on
        (approved: AUTHORIZED; or further); None when it has not, or cannot tell now."""
        gateway = self._router.gateways.get(payment.provider or "")
        if gateway is None:
            return None
        try:
            found = gateway.lookup(payment.id, payment.provider_reference)
        except DomainError:
            return None
        if found is None or found.status in (ProviderStatus.REQUIRES_ACTION, ProviderStatus.PROCESSING):
            return None
        return CaptureAnswer(status=found.status.value, amount=found.amount, capture_reference=found.capture_reference)

    def _asked(self, command: CapturePaymentCommand) -> Callable[[PaymentsUnitOfWork], Change[PaymentView]]:
        def body(uow: PaymentsUnitOfWork) -> Change[PaymentView]:
            payment = uow.payments.get(command.payment_id)
            if payment.payer_id != command.by.id:
                raise PaymentNotFound(command.payment_id)
            return Change(
                result=PaymentView.of(payment),
                target=f"payment:{payment.id}",
                after={"status": payment.status.value, "asked": "capture"},
            )

        return body

    # -- the timers ------------------------------------------------------------------------

    def fire_due(self, command: CaptureDuePaymentsCommand) -> CaptureDuePaymentsResult:
        if isinstance(command.limit, bool) or not isinstance(command.limit, int) or not 1 <= command.limit <= MAX_BATCH:
            raise InvalidInput("limit", f"an integer from 1 to {MAX_BATCH}")
        if not self._authorizer.allows(command.by, Actions.CAPTURE):
            raise Forbidden(Actions.CAPTURE)
        with self._new_uow() as uow:
            due = uow.timers.due(self._clock.now(), kinds=(TimerKinds.CAPTURE,), limit=command.limit)
        fired, failed = fire_each(
            due, lambda timer: self._fire(timer, command), new_uow=self._new_uow, now=self._clock.now
        )
        return CaptureDuePaymentsResult(fired=tuple(fired), failed=tuple(failed))

    def _fire(self, timer: Timer, command: CaptureDuePaymentsCommand) -> CaptureOutcome:
        payment_id = PaymentId(timer.text("payment_id"))
        with self._new_uow() as uow:
            payment = uow.payments.get(payment_id)
        answer = self._capture(payment) if payment.status is PaymentStatus.AUTHORIZED else None
        record = RecordCaptureCommand(
            by=command.by,
            idempotency_key=IdempotencyKey(f"timer:{timer.id}"),
            correlation_id=command.correlation_id,
            payment_id=payment_id,
            answer=answer,
            timer_id=timer.id,
        )
        return self._record(record)

    # -- the call and its record -------------------------------------------------------------

    def _capture(self, payment: Payment) -> CaptureAnswer:
        gateway = self._router.gateways.get(payment.provider or "")
        if gateway is None or payment.provider_reference is None:
            return CaptureAnswer(error="provider_not_configured")  # switched off since: try again later
        request = CaptureRequest(
            payment_id=payment.id,
            provider_reference=payment.provider_reference,
            amount=payment.amount,
            idempotency_key=capture_key(payment.id),
        )
        try:
            result = gateway.capture(request)
        except GatewayDeclined as error:
            return self._refused(payment, error.reason or "capture declined")
        except DomainError as error:  # GatewayUnavailable, GatewayOutcomeUnknown
            return CaptureAnswer(error=error.code)
        return CaptureAnswer(
            status=result.status.value, amount=result.amount, capture_reference=result.capture_reference
        )

    def _refused(self, payment: Payment, reason: str) -> CaptureAnswer:
        """A refusal may mean "captured already" (by an earlier call whose answer was lost,
        or at the provider's side): believed only when the provider's record disagrees."""
        gateway = self._router.gateway(payment.provider or "")
        try:
            found = gateway.lookup(payment.id, payment.provider_reference)
        except DomainError as error:
            return CaptureAnswer(error=error.code)  # cannot tell now: ask again later
        if found is not None and found.status is ProviderStatus.CAPTURED:
            return CaptureAnswer(
                status=found.status.value, amount=found.amount, capture_reference=found.capture_reference
            )
        if found is not None and found.status is ProviderStatus.PROCESSING:
            # A capture under way (PayPal's PENDING): not a refusal; the timer asks again.
            return CaptureAnswer(status=found.status.value, capture_reference=found.capture_reference)
        return CaptureAnswer(declined=True, reason=reason)

    def _record(self, command: RecordCaptureCommand) -> CaptureOutcome:
        return self._runner.run(
            command,
            action=Actions.CAPTURE,
            target=f"payment:{command.payment_id}",
            result_type=CaptureOutcome,
            body=self._record_body(command),
        )

    def _record_body(self, command: RecordCaptureCommand) -> Callable[[PaymentsUnitOfWork], Change[CaptureOutcome]]:
        def body(uow: PaymentsUnitOfWork) -> Change[CaptureOutcome]:
            now = self._clock.now()
            timer = uow.timers.claim(command.timer_id) if command.timer_id is not None else None
            payment = uow.payments.lock(command.payment_id)
            target = f"payment:{payment.id}"
            answer = command.answer
            # A capture the provider says it made is money it took: applied even to a payment
            # failed meanwhile (a racing refusal, a webhook), since "captured" outranks "failed".
            captured = answer is not None and answer.status == ProviderStatus.CAPTURED.value
            applies = payment.status in _CAPTURABLE or (captured and not payment.status.is_captured)
            if (command.timer_id is not None and timer is None) or not applies or answer is None:
                if timer is not None:
                    uow.timers.mark_fired(timer.id, at=now, outcome=OBSOLETE)
                result = CaptureOutcome(payment=PaymentView.of(payment), outcome=OBSOLETE, timer_id=command.timer_id)
                return Change(result=result, target=target, after={"outcome": OBSOLETE})
            before = payment.status.value
            provider = payment.provider or ""
            events: list[DomainEvent] = []
            learned = payment.learn_capture(answer.capture_reference)
            if answer.status is not None:
                status = ProviderStatus(answer.status)
                payment.observe(status, at=now, reason=answer.reason)
                if status is ProviderStatus.CAPTURED and answer.amount is not None:
                    events.extend(capture_reported(payment, answer.amount, provider=provider, at=now))
            elif answer.declined:
                payment.declined(answer.reason or "capture declined", at=now)
            if learned:  # a refund naming only this capture may have overtaken the answer
                _, waited = apply_waiting_events(uow, payment, at=now, capture_reference=payment.capture_reference)
                events.extend(waited)
            events.extend(
                after_change(
                    uow,
                    payment,
                    before=before,
                    at=now,
                    initiated_by=command.by.ref,
                    routing=self._router.policy,
                    hold_warning=self._hold_warning,
                )
            )
            if _awaits_capture(payment):
                outcome = "retry"
                if timer is not None:  # the payer's request leaves the pending timer to retry
                    step = timer.number("step") if "step" in timer.payload else 0
                    events.extend(
                        next_attempt(
                            uow,
                            capture_timer(payment.id, step=step + 1, now=now),
                            step=step,
                            alert=lambda: PaymentAlertRaised.about(
                                payment.id,
                                kind=AlertKind.CAPTURE_UNRESOLVED,
                                provider=provider,
                                at=now,
                                summary=f"payment {payment.id} is authorised but not captured; now tried daily",
                            ),
                        )
                    )
            else:
                outcome = "captured" if payment.status.is_captured else payment.status.value
            uow.payments.save(payment)
            if timer is not None:
                uow.timers.mark_fired(timer.id, at=now, outcome=outcome)
            return Change(
                result=CaptureOutcome(payment=PaymentView.of(payment), outcome=outcome, timer_id=command.timer_id),
                target=target,
                before={"status": before},
                after={
                    "status": payment.status.value,
                    "outcome": outcome,
                    "answer": answer.error or answer.status or ("declined" if answer.declined else ""),
                    "reason": payment.failure_reason,
                },
                events=tuple(events),
            )

        return body


def _awaits_capture(payment: Payment) -> bool:
    """Still AUTHORIZED (a function, so that type checkers see the status may have moved)."""
    return payment.status is PaymentStatus.AUTHORIZED
