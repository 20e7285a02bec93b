from __future__ import annotations

import enum
from collections.abc import Callable

from attrs import frozen

from core.payments.domain import (
    Actions,
    PaymentId,
    PaymentView,
    RefundId,
    RefundNotPending,
    RefundStatus,
    RefundStillSent,
    RoutingPolicy,
)
from core.payments.ports import PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import after_change
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.time import Clock

MAX_REASON = 500
MAX_REFERENCE = 255


class RefundOutcome(enum.Enum):
    """The final outcomes a person may record (never "pending")."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


@frozen(kw_only=True)
class RecordRefundOutcomeCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payment_id: PaymentId
    refund_id: RefundId
    status: RefundOutcome
    reason: str  # why: what finance saw, and where (audited)
    provider_reference: str | None = None  # the refund's reference at the provider, when it has one


@frozen(kw_only=True)
class RecordRefundOutcomeResult:
    payment: PaymentView
    refund_id: RefundId
    status: RefundStatus


class RecordRefundOutcome:
    """Record by hand the final outcome of a refund still PENDING, as the provider's
    dashboard shows it (finance): for a refund the janitor holds (its call may have reached
    the provider too long ago to be resent) or one whose webhook never came.

    Applied exactly as the provider's answer would be (``Payment.refund_observed``, then
    ``after_change``), in one unit of work under the payment's lock: SUCCEEDED books
    nothing more when the refund was booked at its request (a refund first seen in a
    webhook is booked now, once); FAILED books it back to the wallet once. Ranks decide
    what a later webhook does: the same outcome changes nothing, and a provider that
    fails a refund recorded as succeeded still books it back (once). The refund's
    ``payments.refund_retry`` timer finds it no longer pending and ends as ``obsolete``.
    The reason is audited. Replaying the idempotency key returns the first result.

    Raises Forbidden (finance only), InvalidInput (the reason: 1-500 characters; a
    reference other than the refund's, or another refund's; an unknown refund),
    PaymentNotFound, RefundNotPending, RefundStillSent (``failed`` for a refund the janitor
    still sends: neither accepted by the provider nor held). Emits PaymentStatusChanged, PaymentRefunded and
    alerts as ``settle_ledger`` does.
    """

    def __init__(
        self,
        new_uow: Callable[[], PaymentsUnitOfWork],
        authorizer: Authorizer,
        clock: Clock,
        routing: RoutingPolicy | None = None,
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._routing = routing

    def __call__(self, command: RecordRefundOutcomeCommand) -> RecordRefundOutcomeResult:
        if not isinstance(command.status, RefundOutcome):
            raise InvalidInput("status", "succeeded or failed")
        if not isinstance(command.reason, str) or not 1 <= len(command.reason.strip()) <= MAX_REASON:
            raise InvalidInput("reason", f"1-{MAX_REASON} characters")
        reference = command.provider_reference
        if reference is not None and (
            not isinstance(reference, str) or not 1 <= len(reference.strip()) <= MAX_REFERENCE
        ):
            raise InvalidInput("provider_reference", f"1-{MAX_REFERENCE} characters, or none")
        return self._runner.run(
            command,
            action=Actions.SETTLE_BY_HAND,
            target=f"payment:{command.payment_id}",
            result_type=RecordRefundOutcomeResult,
            body=self._body(command),
        )

    def _body(
        self, command: RecordRefundOutcomeCommand
    ) -> Callable[[PaymentsUnitOfWork], Change[RecordRefundOutcomeResult]]:
        def body(uow: PaymentsUnitOfWork) -> Change[RecordRefundOutcomeResult]:
            payment = uow.payments.lock(command.payment_id)
            refund = payment.refund(command.refund_id)
            if refund.status is not RefundStatus.PENDING:
                raise RefundNotPending(payment.id, refund.id, refund.status.value)
            reference = None if command.provider_reference is None else command.provider_reference.strip()
            now = self._clock.now()
            if (
                command.status is RefundOutcome.FAILED
                and refund.provider_reference is None
                and reference is None
                and refund.may_resend(now)
            ):
                raise RefundStillSent(payment.id, refund.id)
            if reference is not None:
                # Refunds are matched by ids only (ADR 12): a reference must name this one alone.
                if refund.provider_reference is not None and refund.provider_reference != reference:
                    raise InvalidInput(
                        "provider_reference",
                        f"refund {refund.id} is known at the provider as {refund.provider_reference}",
                    )
                if any(r.provider_reference == reference for r in payment.refunds if r is not refund):
                    raise InvalidInput("provider_reference", f"another refund of payment {payment.id} has it")
            before = payment.status.value
            payment.refund_observed(
                provider_refund_reference=reference,
                refund_id=refund.id,
                amount=None,
                status=RefundStatus(command.status.value),
                at=now,
            )
            events = after_change(
                uow, payment, before=before, at=now, initiated_by=command.by.ref, routing=self._routing
            )
            uow.payments.save(payment)
            return Change(
                result=RecordRefundOutcomeResult(
                    payment=PaymentView.of(payment), refund_id=refund.id, status=refund.status
                ),
                target=f"payment:{payment.id}",
                before={"status": before, "refund_id": refund.id, "refund_status": RefundStatus.PENDING.value},
                after={
                    "status": payment.status.value,
                    "refund_id": refund.id,
                    "refund_status": refund.status.value,
                    "reference": refund.provider_reference or "",
                    "reason": command.reason.strip(),
                    "recorded": "by_hand",
                    "entry_id": refund.entry_id or "",
                    "reversal_entry_id": refund.reversal_entry_id or "",
                },
                events=tuple(events),
            )

        return body
