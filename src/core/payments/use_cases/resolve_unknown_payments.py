from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from attrs import frozen

from core.payments.domain import (
    Actions,
    AlertKind,
    ChargeResult,
    Payment,
    PaymentAlertRaised,
    PaymentId,
    PaymentMethod,
    PaymentStatus,
    ProviderStatus,
    Refund,
    RefundId,
    RefundRequest,
    RefundStatus,
    TimerKinds,
    refund_key,
    resolve_delay,
)
from core.payments.ports import PaymentGateway, PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import DEFAULT_HOLD_WARNING, after_change, capture_reported, next_attempt
from core.payments.use_cases.refund_payment import refund_retry_timer
from core.payments.use_cases.routing import Router
from core.payments.use_cases.waiting_events import apply_waiting_events
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.commands import Change, CommandRunner
from core.shared.errors import DomainError, InvalidInput
from core.shared.events import DomainEvent
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import Money
from core.shared.time import Clock
from core.shared.timers import OBSOLETE, Timer, fire_each

MAX_BATCH = 1_000
# A provider that has no record of a charge this long after we created it never got it
# (searching by our id lags behind a little at some providers: Stripe's search ~1 min).
NOT_FOUND_GRACE = timedelta(minutes=15)
_UNRESOLVED = frozenset({PaymentStatus.CREATED, PaymentStatus.UNKNOWN})
# A debit or transfer the provider accepted ("processing") takes days to settle (SEPA: up
# to 8 business days): alerting after a day would only cry wolf, so it waits a week more.
_SLOW_METHODS = frozenset({PaymentMethod.SEPA_DEBIT, PaymentMethod.BANK_TRANSFER})
SLOW_PATIENCE_DAYS = 7


@frozen(kw_only=True)
class ResolveUnknownPaymentsCommand:
    by: Actor
    correlation_id: CorrelationId
    limit: int = 100


@frozen(kw_only=True)
class LookupAnswer:
    """What the provider said when asked: ``found`` and its record, not found, or no
    answer at all (``error`` names the gateway error's code)."""

    found: bool
    provider_reference: str | None = None
    status: str | None = None
    error: str | None = None
    amount: Money | None = None  # what the provider's record says it took
    capture_reference: str | None = None  # the capture's own id (PayPal)


@frozen(kw_only=True)
class ResolveTimerCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    timer_id: str
    answer: LookupAnswer | None  # None: the payment was resolved before the lookup


class RefundQuestion:
    """What the janitor asked about a pending refund."""

    CALL = "call"  # the refund call, sent again with the same key (no answer was recorded)
    STATUS = "status"  # ``refund_status``: the provider accepted it, its outcome is awaited
    HELD = "held"  # nothing: the call may have reached the provider too long ago to resend it


@frozen(kw_only=True)
class RefundAnswer:
    """The provider's answer about a pending refund (``asked``: a RefundQuestion):
    ``status`` (a RefundStatus value) and its reference, or no answer at all (``error``
    names the gateway error's code, or why the provider could not be asked)."""

    status: str | None = None
    provider_refund_reference: str | None = None
    reason: str = ""
    error: str | None = None
    asked: str = RefundQuestion.CALL


@frozen(kw_only=True)
class RetryRefundTimerCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    timer_id: str
    answer: RefundAnswer | None  # None: the refund was answered before the retry


@frozen(kw_only=True)
class ResolvedPayment:
    timer_id: str
    payment_id: PaymentId
    outcome: str  # "resolved" | "retry" | "held" (a refund no longer sent) | "obsolete"
    status: PaymentStatus
    refund_id: RefundId | None = None  # set for a ``payments.refund_retry`` timer


@frozen(kw_only=True)
class ResolveUnknownPaymentsResult:
    resolved: tuple[ResolvedPayment, ...]
    failed: tuple[str, ...]  # timer ids whose handler failed; postponed (FAILED_TIMER_RETRY)


class ResolveUnknownPayments:
    """The janitor: for every due ``payments.resolve`` timer, re-query the provider about
    a payment still CREATED (no answer recorded) or UNKNOWN (the answer was lost), and
    record what it says. Found: its status is applied (a capture posts the wallet credit
    exactly once). Not found ``NOT_FOUND_GRACE`` after creation: the charge never reached
    the provider, the payment FAILS. No answer, or nothing final yet: the next timer is
    scheduled on the backoff schedule (``RESOLVE_BACKOFF``: minutes, then hours, then
    daily); reaching the daily step raises an alert once. The payment is never charged
    again or elsewhere meanwhile.

    It also fires ``payments.refund_retry`` timers (scheduled with every refund intent)
    while the refund is PENDING. With no answer recorded (the call was unavailable, its
    answer lost) the call is sent again with the SAME outbound key (``refund_key``), so
    the provider refunds at most once, and its answer recorded as the first call's would
    be; declined FAILS the refund and books it back to the wallet once. Providers keep a
    key's answer only for a while (Stripe: 24 hours), so a call that may have reached the
    provider (a lost answer, ``Refund.maybe_sent_at``) is sent again only within
    ``REFUND_RESEND_WINDOW`` of that: after it the refund is held (stays pending, never
    sent again), alerted once for a person to check at the provider, and its timer goes on
    daily without calls. Calls that were certainly not made (unavailable) are resent for as
    long as it takes. With a reference
    (the provider accepted it: Stripe ``pending``, PayPal ``PENDING``, Adyen "received")
    only a webhook would finish it, and webhooks get lost: the provider is asked
    (``refund_status``) and SUCCEEDED / FAILED applied as a webhook would (booked or
    booked back exactly once). Still pending, no answer, or a provider that cannot be
    asked (Adyen): next step on the same schedule, alerted once at the daily step.

    Each timer is fired as its own command (key ``timer:<id>``, audited, claimed in its
    transaction), the lookup happening between two transactions. A timer whose handler
    fails with a domain error (its payment is gone, say) is reported in ``failed`` and
    postponed by ``FAILED_TIMER_RETRY`` in its own transaction, so the timers behind it
    still fire (if the postponing fails too, it stays due as it was). Raises Forbidden,
    InvalidInput (``limit``) and DependencyUnavailable.
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

    def __call__(self, command: ResolveUnknownPaymentsCommand) -> ResolveUnknownPaymentsResult:
        if isinstance(command.limit, bool) or not isinstance(command.limit, int) or not 1 <= command.limit <= MAX_BATCH:
            raise InvalidInput("limit", f"an integer from 1 to {MAX_BATCH}")
        if not self._authorizer.allows(command.by, Actions.RESOLVE_UNKNOWN):
            raise Forbidden(Actions.RESOLVE_UNKNOWN)
        with self._new_uow() as uow:
            due = uow.timers.due(
                self._clock.now(), kinds=(TimerKinds.RESOLVE, TimerKinds.REFUND_RETRY), limit=command.limit
            )
        resolved, failed = fire_each(
            due, lambda timer: self._fire_timer(timer, command), new_uow=self._new_uow, now=self._clock.now
        )
        return ResolveUnknownPaymentsResult(resolved=tuple(resolved), failed=tuple(failed))

    def _fire_timer(self, timer: Timer, command: ResolveUnknownPaymentsCommand) -> ResolvedPayment:
        if timer.kind == TimerKinds.REFUND_RETRY:
            return self._fire_refund(timer, command)
        return self._fire(timer, command)

    def _fire(self, timer: Timer, command: ResolveUnknownPaymentsCommand) -> ResolvedPayment:
        with self._new_uow() as uow:
            payment = uow.payments.get(PaymentId(timer.text("payment_id")))
        answer = self._lookup(payment) if payment.status in _UNRESOLVED else None
        fire = ResolveTimerCommand(
            by=command.by,
            idempotency_key=IdempotencyKey(f"timer:{timer.id}"),
            correlation_id=command.correlation_id,
            timer_id=timer.id,
            answer=answer,
        )
        return self._runner.run(
            fire,
            action=Actions.RESOLVE_UNKNOWN,
            target=f"payment:{payment.id}",
            result_type=ResolvedPayment,
            body=self._body(fire, payment.id),
        )

    def _lookup(self, payment: Payment) -> LookupAnswer:
        gateway = self._router.gateways.get(payment.provider or "")
        if gateway is None:
            # Switched off since: it may still have charged, so ask again on the schedule
            # (and alert at the daily step) rather than stall every other payment's timer.
            return LookupAnswer(found=False, error="provider_not_configured")
        try:
            found = gateway.lookup(payment.id, payment.provider_reference)
        except DomainError as error:  # GatewayUnavailable, GatewayOutcomeUnknown, GatewayDeclined
            return LookupAnswer(found=False, error=error.code)
        if found is None:
            return LookupAnswer(found=False)
        return LookupAnswer(
            found=True,
            provider_reference=found.provider_reference,
            status=found.status.value,
            amount=found.amount,
            capture_reference=found.capture_reference,
        )

    def _body(
        self, command: ResolveTimerCommand, payment_id: PaymentId
    ) -> Callable[[PaymentsUnitOfWork], Change[ResolvedPayment]]:
        def body(uow: PaymentsUnitOfWork) -> Change[ResolvedPayment]:
            now = self._clock.now()
            timer = uow.timers.claim(command.timer_id)
            payment = uow.payments.lock(payment_id)
            target = f"payment:{payment.id}"
            if (
                timer is None
                or command.answer is None
                or (payment.status not in _UNRESOLVED and not _captured_after_failure(payment, command.answer))
            ):
                if timer is not None:
                    uow.timers.mark_fired(timer.id, at=now, outcome=OBSOLETE)
                result = ResolvedPayment(
                    timer_id=command.timer_id, payment_id=payment.id, outcome=OBSOLETE, status=payment.status
                )
                return Change(result=result, target=target, after={"outcome": OBSOLETE})
            before = payment.status.value
            answer = command.answer
            events: list[DomainEvent] = []
            if answer.found and answer.status is not None and answer.provider_reference is not None:
                status = ProviderStatus(answer.status)
                knew = (payment.provider_reference, payment.capture_reference)
                payment.answered(
                    ChargeResult(
                        provider=payment.provider or "",
                        provider_reference=answer.provider_reference,
                        status=status,
                        amount=answer.amount if answer.amount is not None else payment.amount,
                        capture_reference=answer.capture_reference,
                    ),
                    at=now,
                )
                if status is ProviderStatus.CAPTURED and answer.amount is not None:
                    # The same rule as a capture webhook: credit what it took, up to the intent.
                    events.extend(capture_reported(payment, answer.amount, provider=payment.provider or "", at=now))
                # Webhooks that overtook the answer wait in the inbox for what it taught.
                _, alerts = apply_waiting_events(
                    uow,
                    payment,
                    at=now,
                    reference=payment.provider_reference if knew[0] is None else None,
                    capture_reference=payment.capture_reference if knew[1] is None else None,
                )
                events.extend(alerts)
            elif not answer.found and answer.error is None and now - payment.created_at >= NOT_FOUND_GRACE:
                payment.declined("the provider has no record of the charge: it never reached it", at=now)
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
            step = _step(timer)
            if payment.status in _UNRESOLVED:
                outcome = "retry"
                events.extend(
                    next_attempt(
                        uow,
                        Timer(
                            id=f"tmr_resolve_{payment.id}_{step + 1}",
                            kind=TimerKinds.RESOLVE,
                            due_at=now + resolve_delay(step + 1),
                            payload={"payment_id": payment.id, "step": step + 1},
                        ),
                        step=step,
                        alert=lambda: PaymentAlertRaised.about(
                            payment.id,
                            kind=AlertKind.UNKNOWN_UNRESOLVED,
                            provider=payment.provider or "",
                            at=now,
                            summary=f"payment {payment.id} is still {payment.status.value}; now looked up daily",
                        ),
                        patient_days=_patience(payment),
                    )
                )
            else:
                outcome = "resolved"
            uow.payments.save(payment)
            uow.timers.mark_fired(timer.id, at=now, outcome=outcome)
            return Change(
                result=ResolvedPayment(
                    timer_id=timer.id, payment_id=payment.id, outcome=outcome, status=payment.status
                ),
                target=target,
                before={"status": before},
                after={
                    "status": payment.status.value,
                    "outcome": outcome,
                    "lookup": "error" if answer.error else ("found" if answer.found else "not_found"),
                    "step": step,
                },
                events=tuple(events),
            )

        return body

    # --- refund retries -------------------------------------------------------------------

    def _fire_refund(self, timer: Timer, command: ResolveUnknownPaymentsCommand) -> ResolvedPayment:
        payment_id, refund_id = PaymentId(timer.text("payment_id")), RefundId(timer.text("refund_id"))
        with self._new_uow() as uow:
            payment = uow.payments.get(payment_id)
        refund = payment.refund(refund_id)
        answer = self._ask_about_refund(payment, refund, self._clock.now()) if _pending(refund) else None
        fire = RetryRefundTimerCommand(
            by=command.by,
            idempotency_key=IdempotencyKey(f"timer:{timer.id}"),
            correlation_id=command.correlation_id,
            timer_id=timer.id,
            answer=answer,
        )
        return self._runner.run(
            fire,
            action=Actions.RESOLVE_UNKNOWN,
            target=f"payment:{payment.id}",
            result_type=ResolvedPayment,
            body=self._refund_body(fire, payment.id, refund.id),
        )

    def _ask_about_refund(self, payment: Payment, refund: Refund, now: datetime) -> RefundAnswer:
        """Send a refund call that has no answer again (unless it may have reached the
        provider too long ago: ``REFUND_RESEND_WINDOW``), or ask about one the provider
        accepted (it has a reference)."""
        gateway = self._router.gateways.get(payment.provider or "")
        if refund.provider_reference is not None:
            return self._refund_status(gateway, refund.provider_reference)
        if not refund.may_resend(now):
            return RefundAnswer(asked=RefundQuestion.HELD, error="resend_window_passed")
        return self._retry_refund(gateway, payment, refund)

    @staticmethod
    def _refund_status(gateway: PaymentGateway | None, reference: str) -> RefundAnswer:
        if gateway is None:
            return RefundAnswer(asked=RefundQuestion.STATUS, error="provider_not_configured")  # ask again later
        try:
            status = gateway.refund_status(reference)
        except DomainError as error:  # GatewayUnavailable, GatewayOutcomeUnknown, GatewayDeclined
            return RefundAnswer(asked=RefundQuestion.STATUS, error=error.code)
        if status is None:
            return RefundAnswer(asked=RefundQuestion.STATUS, error="refund_status_not_offered")  # Adyen: alerted
        return RefundAnswer(asked=RefundQuestion.STATUS, status=status.value, provider_refund_reference=reference)

    @staticmethod
    def _retry_refund(gateway: PaymentGateway | None, payment: Payment, refund: Refund) -> RefundAnswer:
        if gateway is None or payment.provider_reference is None:
            return RefundAnswer(error="provider_not_configured")  # switched off since: ask again later
        request = RefundRequest(
            payment_id=payment.id,
            refund_id=refund.id,
            provider_reference=payment.provider_reference,
            amount=refund.amount,
            idempotency_key=refund_key(payment.id, refund.id),
        )
        try:
            answer = gateway.refund(request)
        except GatewayDeclined as error:
            return RefundAnswer(status=RefundStatus.FAILED.value, reason=error.reason or "declined")
        except DomainError as error:  # GatewayUnavailable, GatewayOutcomeUnknown
            return RefundAnswer(error=error.code)
        return RefundAnswer(status=answer.status.value, provider_refund_reference=answer.provider_refund_reference)

    def _refund_body(
        self, command: RetryRefundTimerCommand, payment_id: PaymentId, refund_id: RefundId
    ) -> Callable[[PaymentsUnitOfWork], Change[ResolvedPayment]]:
        def body(uow: PaymentsUnitOfWork) -> Change[ResolvedPayment]:
            now = self._clock.now()
            timer = uow.timers.claim(command.timer_id)
            payment = uow.payments.lock(payment_id)
            refund = payment.refund(refund_id)
            target = f"payment:{payment.id}"
            if timer is None or not _pending(refund) or command.answer is None:
                if timer is not None:
                    uow.timers.mark_fired(timer.id, at=now, outcome=OBSOLETE)
                result = ResolvedPayment(
                    timer_id=command.timer_id,
                    payment_id=payment.id,
                    outcome=OBSOLETE,
                    status=payment.status,
                    refund_id=refund.id,
                )
                return Change(result=result, target=target, after={"outcome": OBSOLETE, "refund_id": refund.id})
            before = payment.status.value
            answer = command.answer
            events: list[DomainEvent] = []
            if answer.asked == RefundQuestion.CALL and answer.error == GatewayOutcomeUnknown.code:
                refund.maybe_sent(now)  # it may have reached the provider: resent only within the window
            if answer.status is not None:
                payment.refund_observed(
                    provider_refund_reference=answer.provider_refund_reference,
                    refund_id=refund.id,
                    amount=None,
                    status=RefundStatus(answer.status),
                    at=now,
                )
                if answer.reason and not refund.reason:
                    refund.reason = answer.reason
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
            step = _step(timer)
            following = refund_retry_timer(payment.id, refund.id, step=step + 1, now=now)
            if _pending(refund) and refund.provider_reference is None and not refund.may_resend(following.due_at):
                # The next call would come too late (the provider may have forgotten the
                # key): never sent again. A person is asked once; the timer goes on daily,
                # in case a webhook gives the refund a reference to ask about.
                outcome = "held"
                uow.timers.schedule(refund_retry_timer(payment.id, refund.id, step=step + 1, now=now, held=True))
                if "held" not in timer.payload:
                    events.append(
                        PaymentAlertRaised.about(
                            payment.id,
                            kind=AlertKind.REFUND_UNRESOLVED,
                            provider=payment.provider or "",
                            at=now,
                            summary=(
                                f"refund {refund.id} of {refund.amount} (payment {payment.id}) is still pending:"
                                f" its call to {payment.provider} got no answer and is not sent again, as the"
                                f" provider may have let its idempotency key expire (it could refund twice);"
                                f" a person must check at {payment.provider} whether it was refunded"
                            ),
                        )
                    )
            elif _pending(refund):  # (refund_observed may have moved it on)
                outcome = "retry"
                events.extend(
                    next_attempt(
                        uow,
                        following,
                        step=step,
                        alert=lambda: PaymentAlertRaised.about(
                            payment.id,
                            kind=AlertKind.REFUND_UNRESOLVED,
                            provider=payment.provider or "",
                            at=now,
                            summary=(
                                f"refund {refund.id} of {refund.amount} (payment {payment.id}) is still pending"
                                f"{'' if refund.provider_reference is None else ' at ' + refund.provider_reference}"
                                f": no final answer from {payment.provider}; now asked daily"
                            ),
                        ),
                    )
                )
            else:
                outcome = "resolved"
            uow.payments.save(payment)
            uow.timers.mark_fired(timer.id, at=now, outcome=outcome)
            return Change(
                result=ResolvedPayment(
                    timer_id=timer.id,
                    payment_id=payment.id,
                    outcome=outcome,
                    status=payment.status,
                    refund_id=refund.id,
                ),
                target=target,
                before={"status": before},
                after={
                    "status": payment.status.value,
                    "outcome": outcome,
                    "refund_id": refund.id,
                    "refund_status": refund.status.value,
                    "asked": answer.asked,
                    "answer": answer.error or answer.status or "",
                    "step": step,
                },
                events=tuple(events),
            )

        return body


def _pending(refund: Refund) -> bool:
    """A refund the provider has not finished (for all we know)."""
    return refund.status is RefundStatus.PENDING


def _captured_after_failure(payment: Payment, answer: LookupAnswer) -> bool:
    """A lookup that found the charge captured while the payment was recorded failed
    meanwhile (by hand, during the call): the provider's capture outranks the failure, as a
    capture webhook's does, so it is applied rather than dropped as obsolete."""
    return (
        payment.status is PaymentStatus.FAILED
        and answer.found
        and answer.status == ProviderStatus.CAPTURED.value
        and answer.provider_reference is not None
    )


def _step(timer: Timer) -> int:
    """The attempt a janitor timer stands for (0-based, on ``RESOLVE_BACKOFF``)."""
    return timer.number("step") if "step" in timer.payload else 0


def _patience(payment: Payment) -> int:
    """Extra daily look-ups before the unresolved alert: a slow method the provider has
    accepted (it gave a reference) is expected to take days; a lost answer is not."""
    accepted = payment.status is PaymentStatus.CREATED and payment.provider_reference is not None
    return SLOW_PATIENCE_DAYS if accepted and payment.method in _SLOW_METHODS else 0
