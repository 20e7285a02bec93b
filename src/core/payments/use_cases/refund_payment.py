from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from attrs import frozen

from core.payments.domain import (
    PLATFORM,
    RESOLVE_BACKOFF,
    AccountKinds,
    Actions,
    NoProviderAvailable,
    Payment,
    PaymentId,
    PaymentRefunded,
    PaymentView,
    RefundId,
    RefundRequest,
    RefundStatus,
    TimerKinds,
    refund_key,
    resolve_delay,
)
from core.payments.ports import PaymentGateway, PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import post_refund, settle_ledger
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.events import DomainEvent
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock
from core.shared.timers import Timer


@frozen(kw_only=True)
class RefundPaymentCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    amount: Money
    reason: str


@frozen(kw_only=True)
class RefundPaymentResult:
    payment: PaymentView
    refund_id: RefundId
    status: RefundStatus


@frozen(kw_only=True)
class RecordRefundCommand:
    """The provider's answer to a refund, recorded by the system (key
    ``<refund id>:record``)."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    refund_id: RefundId
    provider_refund_reference: str | None
    status: RefundStatus
    reason: str = ""


@frozen(kw_only=True)
class RefundMaybeSentCommand:
    """A refund call that got no answer and may have reached the provider, recorded by
    the system (key ``<refund id>:maybe_sent``; the first time is kept)."""

    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    refund_id: RefundId


_RECORDER = Actor.system("payments")


def refund_retry_timer(
    payment_id: PaymentId, refund_id: RefundId, *, step: int, now: datetime, held: bool = False
) -> Timer:
    """The janitor's retry number ``step`` of a refund call (``resolve_delay`` backoff).
    ``held``: the call is no longer sent (``REFUND_RESEND_WINDOW``) and that was alerted;
    the timer only keeps asking about it daily."""
    payload: dict[str, str | int] = {"payment_id": payment_id, "refund_id": refund_id, "step": step}
    if held:
        payload["held"] = 1
    return Timer(
        id=f"tmr_refund_{refund_id}_{step}",
        kind=TimerKinds.REFUND_RETRY,
        due_at=now + (RESOLVE_BACKOFF[-1] if held else resolve_delay(step)),
        payload=payload,
    )


class RefundPayment:
    """Refund (part of) a captured payment to the payer, through the provider that took it.

    Intent, call, outcome, as for charges: 1. a pending refund within what is left to
    refund, and its entry wallet -> clearing (so the money cannot be spent meanwhile),
    committed; 2. ``gateway.refund`` with the key ``<payment id>:refund:<refund id>``;
    3. the answer recorded by the system: succeeded, pending (a webhook finishes it) or,
    on a decline, FAILED with the entry reversed (clearing -> wallet). If the provider is
    unavailable or its answer is lost, the refund stays pending and the error is raised:
    retry with the same idempotency key (the provider then answers as the first time);
    the janitor also retries the call itself (a ``payments.refund_retry`` timer scheduled
    with the intent, on the ``RESOLVE_BACKOFF`` schedule, with the same outbound key). A
    lost answer (it may have reached the provider) is recorded on the refund
    (``maybe_sent_at``): from ``REFUND_RESEND_WINDOW`` later, when the provider may have
    forgotten the key, the call is never sent again (a retry returns it pending).

    Raises Forbidden, PaymentNotFound, PaymentNotCaptured, RefundExceedsCaptured (the
    refunds, pending ones included, would exceed the captured amount), InsufficientFunds
    (the payer spent the money), InvalidInput, NoProviderAvailable (the provider that took
    the payment is switched off: nothing stored), GatewayUnavailable, GatewayOutcomeUnknown.
    Emits PaymentRefunded (on the intent's entry), PaymentStatusChanged.
    """

    def __init__(
        self,
        new_uow: Callable[[], PaymentsUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
    ) -> None:
        self._new_uow = new_uow
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._gateways = gateways

    def __call__(self, command: RefundPaymentCommand) -> RefundPaymentResult:
        if not isinstance(command.reason, str) or not 1 <= len(command.reason.strip()) <= 500:
            raise InvalidInput("reason", "1-500 characters")
        started = self._runner.run(
            command,
            action=Actions.REFUND,
            target=f"payment:{command.payment_id}",
            result_type=RefundPaymentResult,
            body=self._start(command),
        )
        with self._new_uow() as uow:
            payment = uow.payments.get(command.payment_id)
        refund = payment.refund(started.refund_id)
        if (
            refund.status is not RefundStatus.PENDING
            or refund.provider_reference is not None
            or not refund.may_resend(self._clock.now())  # its key may have expired there: the janitor alerts
        ):
            return RefundPaymentResult(payment=PaymentView.of(payment), refund_id=refund.id, status=refund.status)
        assert payment.provider is not None and payment.provider_reference is not None
        gateway = self._gateway(payment)
        request = RefundRequest(
            payment_id=payment.id,
            refund_id=refund.id,
            provider_reference=payment.provider_reference,
            amount=refund.amount,
            idempotency_key=refund_key(payment.id, refund.id),
        )
        reference: str | None = None
        reason = ""
        try:
            answer = gateway.refund(request)
            reference, status = answer.provider_refund_reference, answer.status
        except GatewayDeclined as error:
            status, reason = RefundStatus.FAILED, error.reason or "declined"
        except GatewayUnavailable:
            raise  # pending, certainly not made: retry with the same key
        except GatewayOutcomeUnknown:
            # Pending, and it may have reached the provider: resent only while the provider
            # surely keeps the key's answer (``REFUND_RESEND_WINDOW``).
            self._runner.run(
                RefundMaybeSentCommand(
                    by=_RECORDER,
                    idempotency_key=IdempotencyKey(f"{refund.id}:maybe_sent"),
                    correlation_id=command.correlation_id,
                    payment_id=payment.id,
                    refund_id=refund.id,
                ),
                action=Actions.RECORD_CHARGE,
                target=f"payment:{payment.id}",
                result_type=RefundPaymentResult,
                body=self._maybe_sent(payment.id, refund.id),
            )
            raise
        record = RecordRefundCommand(
            by=_RECORDER,
            idempotency_key=IdempotencyKey(f"{refund.id}:record"),
            correlation_id=command.correlation_id,
            payment_id=payment.id,
            refund_id=refund.id,
            provider_refund_reference=reference,
            status=status,
            reason=reason,
        )
        return self._runner.run(
            record,
            action=Actions.RECORD_CHARGE,
            target=f"payment:{payment.id}",
            result_type=RefundPaymentResult,
            body=self._record(record),
        )

    def _gateway(self, payment: Payment) -> PaymentGateway:
        """The gateway of the provider that took the payment; NoProviderAvailable when it
        is switched off (nothing can be refunded through it now)."""
        gateway = self._gateways.get(payment.provider or "")
        if gateway is None:
            raise NoProviderAvailable(payment.amount.currency.code, payment.country, payment.method.value)
        return gateway

    def _start(self, command: RefundPaymentCommand) -> Callable[[PaymentsUnitOfWork], Change[RefundPaymentResult]]:
        def body(uow: PaymentsUnitOfWork) -> Change[RefundPaymentResult]:
            payment = uow.payments.lock(command.payment_id)
            now = self._clock.now()
            refund = payment.request_refund(command.amount, by=command.by.ref, at=now)
            refund.reason = command.reason.strip()
            assert payment.provider is not None  # captured payments went through one
            self._gateway(payment)  # before the wallet is debited: a refund we could not send
            currency = payment.amount.currency
            clearing = uow.book.account(
                owner_id=PLATFORM, kind=AccountKinds.GATEWAY_CLEARING, currency=currency, label=payment.provider, at=now
            )
            wallet = uow.book.account(owner_id=payment.payer_id, kind=AccountKinds.WALLET, currency=currency, at=now)
            # Booked at the intent: the money leaves the wallet now, so it cannot be spent
            # while the provider works; a failure books it back.
            refund.entry_id = post_refund(
                uow.book,
                payment,
                amount=refund.amount,
                wallet=wallet,
                clearing=clearing,
                at=now,
                initiated_by=command.by.ref,
            )
            uow.payments.save(payment)
            # In the intent's transaction: if the call below is lost (unavailable, no
            # answer, a crash), the janitor retries it with the same key on the schedule.
            uow.timers.schedule(refund_retry_timer(payment.id, refund.id, step=0, now=now))
            return Change(
                result=RefundPaymentResult(payment=PaymentView.of(payment), refund_id=refund.id, status=refund.status),
                target=f"payment:{payment.id}",
                before={"refundable_minor": payment.refundable.plus(refund.amount).minor},
                after={
                    "refund_id": refund.id,
                    "amount_minor": refund.amount.minor,
                    "reason": refund.reason,
                    "entry_id": refund.entry_id,
                },
                events=(
                    PaymentRefunded(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=payment.id,
                        payment_id=payment.id,
                        refund_id=refund.id,
                        amount=refund.amount,
                        entry_id=refund.entry_id,
                    ),
                ),
            )

        return body

    def _maybe_sent(
        self, payment_id: PaymentId, refund_id: RefundId
    ) -> Callable[[PaymentsUnitOfWork], Change[RefundPaymentResult]]:
        def body(uow: PaymentsUnitOfWork) -> Change[RefundPaymentResult]:
            payment = uow.payments.lock(payment_id)
            refund = payment.refund(refund_id)
            now = self._clock.now()
            refund.maybe_sent(now)
            uow.payments.save(payment)
            return Change(
                result=RefundPaymentResult(payment=PaymentView.of(payment), refund_id=refund.id, status=refund.status),
                target=f"payment:{payment.id}",
                after={"refund_id": refund.id, "maybe_sent_at": (refund.maybe_sent_at or now).isoformat()},
            )

        return body

    def _record(self, command: RecordRefundCommand) -> Callable[[PaymentsUnitOfWork], Change[RefundPaymentResult]]:
        def body(uow: PaymentsUnitOfWork) -> Change[RefundPaymentResult]:
            payment = uow.payments.lock(command.payment_id)
            now = self._clock.now()
            before = payment.status.value
            refund = payment.refund_observed(
                provider_refund_reference=command.provider_refund_reference,
                refund_id=command.refund_id,
                amount=None,
                status=command.status,
                at=now,
            )
            if command.reason and not refund.reason:
                refund.reason = command.reason
            events: list[DomainEvent] = settle_ledger(payment, uow.book, at=now, initiated_by=command.by.ref)
            uow.payments.save(payment)
            return Change(
                result=RefundPaymentResult(payment=PaymentView.of(payment), refund_id=refund.id, status=refund.status),
                target=f"payment:{payment.id}",
                before={"status": before},
                after={
                    "status": payment.status.value,
                    "refund_id": refund.id,
                    "refund_status": refund.status.value,
                    "reference": refund.provider_reference or "",
                },
                events=tuple(events),
            )

        return body
