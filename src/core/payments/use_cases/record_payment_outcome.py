from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import timedelta

from attrs import frozen

from core.payments.domain import (
    Actions,
    ChargeResult,
    IllegalPaymentTransition,
    PaymentId,
    PaymentNotUnresolved,
    PaymentStatus,
    PaymentView,
    ProviderStatus,
    RoutingPolicy,
)
from core.payments.ports import PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import DEFAULT_HOLD_WARNING, after_change, capture_reported
from core.payments.use_cases.record_refund_outcome import MAX_REASON, MAX_REFERENCE
from core.payments.use_cases.waiting_events import apply_waiting_events
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import MAX_MOVEMENT, Money
from core.shared.time import Clock

_UNRESOLVED = frozenset({PaymentStatus.CREATED, PaymentStatus.UNKNOWN})


class PaymentOutcome(enum.Enum):
    """The final outcomes a person may record for a charge."""

    CAPTURED = "captured"
    FAILED = "failed"


@frozen(kw_only=True)
class RecordPaymentOutcomeCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    status: PaymentOutcome
    reason: str  # why: what finance saw, and where (audited; a failure's reason)
    amount: Money | None = None  # captured: what the provider's dashboard says it took
    provider_reference: str | None = None  # captured: the payment's reference at the provider


@frozen(kw_only=True)
class RecordPaymentOutcomeResult:
    payment: PaymentView


class RecordPaymentOutcome:
    """Record by hand the final outcome of a payment still UNKNOWN or CREATED (no answer
    from the provider recorded), as the provider's dashboard shows it (finance): for one the
    janitor cannot look up (Adyen, PayPal without an order id) or keeps finding nothing.

    Applied exactly as a janitor's lookup would be, in one unit of work under the payment's
    lock: CAPTURED through ``Payment.answered`` and ``capture_reported`` (the wallet is
    credited once what the provider took, never more than the intent; a different amount
    is alerted and an excess stays in clearing), the webhooks that waited for the reference
    applied, then ``after_change`` (ledger, hold deadline, status event); FAILED through
    ``Payment.declined`` with the reason. Ranks decide what a later fact does: the same
    outcome changes nothing, while a provider reporting a capture of a payment recorded
    failed still credits it (once). The ``payments.resolve`` timer finds it resolved and
    ends as ``obsolete``. The reason is audited. Replaying the idempotency key returns the
    first result.

    Raises Forbidden (finance only), InvalidInput (the reason: 1-500 characters; for
    CAPTURED, the amount, positive and in the payment's currency, and the provider
    reference, 1-255 characters and not another one than the payment's; neither for
    FAILED), PaymentNotFound, PaymentNotUnresolved, IllegalPaymentTransition (a capture of
    a payment never routed to a provider). Emits PaymentStatusChanged, PaymentCaptured and
    alerts as ``after_change`` does.
    """

    def __init__(
        self,
        new_uow: Callable[[], PaymentsUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        routing: RoutingPolicy | None = None,
        hold_warning: timedelta = DEFAULT_HOLD_WARNING,
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._routing = routing
        self._hold_warning = hold_warning

    def __call__(self, command: RecordPaymentOutcomeCommand) -> RecordPaymentOutcomeResult:
        if not isinstance(command.status, PaymentOutcome):
            raise InvalidInput("status", "captured or failed")
        if not isinstance(command.reason, str) or not 1 <= len(command.reason.strip()) <= MAX_REASON:
            raise InvalidInput("reason", f"1-{MAX_REASON} characters")
        amount, reference = command.amount, command.provider_reference
        if command.status is PaymentOutcome.CAPTURED:
            if not isinstance(amount, Money) or not 0 < amount.minor <= MAX_MOVEMENT:
                raise InvalidInput("amount", f"what the provider took: a positive amount of at most {MAX_MOVEMENT}")
            if not isinstance(reference, str) or not 1 <= len(reference.strip()) <= MAX_REFERENCE:
                raise InvalidInput("provider_reference", f"the payment's reference at the provider, 1-{MAX_REFERENCE}")
        else:
            if amount is not None:
                raise InvalidInput("amount", "only for a captured payment")
            if reference is not None:
                raise InvalidInput("provider_reference", "only for a captured payment")
        return self._runner.run(
            command,
            action=Actions.SETTLE_BY_HAND,
            target=f"payment:{command.payment_id}",
            result_type=RecordPaymentOutcomeResult,
            body=self._body(command),
        )

    def _body(
        self, command: RecordPaymentOutcomeCommand
    ) -> Callable[[PaymentsUnitOfWork], Change[RecordPaymentOutcomeResult]]:
        def body(uow: PaymentsUnitOfWork) -> Change[RecordPaymentOutcomeResult]:
            payment = uow.payments.lock(command.payment_id)
            if payment.status not in _UNRESOLVED:
                raise PaymentNotUnresolved(payment.id, payment.status.value)
            now = self._clock.now()
            before = payment.status.value
            reason = command.reason.strip()
            events: list[DomainEvent] = []
            if command.status is PaymentOutcome.CAPTURED:
                assert command.amount is not None and command.provider_reference is not None  # checked above
                amount, reference = command.amount, command.provider_reference.strip()
                if payment.provider is None:
                    raise IllegalPaymentTransition(payment.id, payment.status.value, "record a capture")
                if amount.currency != payment.amount.currency:
                    raise InvalidInput("amount", f"in the payment's currency, {payment.amount.currency.code}")
                if payment.provider_reference is not None and payment.provider_reference != reference:
                    raise InvalidInput(
                        "provider_reference",
                        f"payment {payment.id} is known at the provider as {payment.provider_reference}",
                    )
                other = uow.payments.by_provider_reference(payment.provider, reference)
                if other is not None and other.id != payment.id:
                    raise InvalidInput("provider_reference", f"{reference} is another payment's reference")
                knew = payment.provider_reference
                payment.answered(
                    ChargeResult(
                        provider=payment.provider,
                        provider_reference=reference,
                        status=ProviderStatus.CAPTURED,
                        amount=amount,
                    ),
                    at=now,
                )
                # The same rule as a lookup's or a capture webhook's: credit what it took, up to the intent.
                events.extend(capture_reported(payment, amount, provider=payment.provider, at=now))
                # Webhooks that overtook the answer wait in the inbox for the reference it taught.
                _, alerts = apply_waiting_events(
                    uow, payment, at=now, reference=payment.provider_reference if knew is None else None
                )
                events.extend(alerts)
            else:
                payment.declined(reason, at=now)
            events.extend(
                after_change(
                    uow,
                    payment,
                    before=before,
                    at=now,
                    initiated_by=command.by.ref,
                    routing=self._routing,
                    hold_warning=self._hold_warning,
                )
            )
            uow.payments.save(payment)
            return Change(
                result=RecordPaymentOutcomeResult(payment=PaymentView.of(payment)),
                target=f"payment:{payment.id}",
                before={"status": before},
                after={
                    "status": payment.status.value,
                    "recorded": "by_hand",
                    "outcome": command.status.value,
                    "reason": reason,
                    "reference": payment.provider_reference or "",
                    "amount_minor": command.amount.minor if command.amount is not None else 0,
                    "credited_minor": payment.credited.minor if payment.capture_entry_id is not None else 0,
                    "entry_id": payment.capture_entry_id or "",
                },
                events=tuple(events),
            )

        return body
