from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from attrs import frozen

from core.payments.domain import (
    EVENT_STATUS,
    Actions,
    AlertKind,
    Payment,
    PaymentAlertRaised,
    PaymentId,
    PaymentNotFound,
    ProviderEvent,
    ProviderEventKind,
    ProviderEventReceived,
    RoutingPolicy,
)
from core.payments.ports import PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import DEFAULT_HOLD_WARNING, after_change, apply_event
from core.payments.use_cases.waiting_events import apply_waiting_events
from core.shared.actor import Actor
from core.shared.audit import AuditDraft, Outcome
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.events import EventEnvelope
from core.shared.ids import AuditRecordId, CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock

CONSUMER = Actor.system("payments")
_SAFE = re.compile(r"[^A-Za-z0-9._:\-]")


def event_key(provider: str, provider_event_id: str) -> IdempotencyKey:
    """The idempotency key applying one provider event runs under."""
    text = f"pevt:{provider}:{_SAFE.sub('-', provider_event_id)}"
    if len(text) > 200:
        text = f"pevt:{provider}:{hashlib.sha256(provider_event_id.encode()).hexdigest()}"
    return IdempotencyKey(text)


@frozen(kw_only=True)
class ApplyProviderEventCommand:
    by: Actor
    correlation_id: CorrelationId
    provider: str
    provider_event_id: str

    @property
    def idempotency_key(self) -> IdempotencyKey:
        return event_key(self.provider, self.provider_event_id)


class EventOutcome:
    APPLIED = "applied"  # the payment moved (and the ledger, if it owed something)
    NO_CHANGE = "no_change"  # a duplicate fact, or one the monotonic machine ranks lower
    IGNORED = "ignored"  # of no interest to payments (payouts, other kinds)
    MISSING = "missing"  # not in the inbox (never received)
    FOREIGN = "foreign"  # names our payment, but comes from a provider it did not go through (alerted)
    REJECTED = "rejected"  # cannot be booked (a refund in another currency): alerted, never retried


@frozen(kw_only=True)
class ApplyProviderEventResult:
    outcome: str
    payment_id: PaymentId | None = None
    status: str | None = None


class ApplyProviderEvent:
    """The consumer of ProviderEventReceived: apply one stored provider event to its
    payment and post what the ledger then owes, exactly once (run under the key
    ``pevt:<provider>:<event id>``; the payment remembers its entries).

    Order does not matter: the payment's status machine is monotonic, a late or repeated
    event changes nothing, and refunds seen before their capture are posted with it.
    Raises Forbidden and PaymentNotFound when the event names a payment we do not know
    (yet: its charge answer may not be recorded; nothing is stored, so redelivery or the
    charge's recording applies it later). Emits PaymentStatusChanged, PaymentCaptured,
    PaymentRefunded, PaymentAlertRaised.
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

    def __call__(self, command: ApplyProviderEventCommand) -> ApplyProviderEventResult:
        def body(uow: PaymentsUnitOfWork) -> Change[ApplyProviderEventResult]:
            return apply_stored_event(
                uow,
                command.provider,
                command.provider_event_id,
                at=self._clock.now(),
                initiated_by=command.by.ref,
                routing=self._routing,
                hold_warning=self._hold_warning,
            )

        return self._runner.run(
            command,
            action=Actions.APPLY_EVENT,
            target=f"provider_event:{command.provider}:{command.provider_event_id}",
            result_type=ApplyProviderEventResult,
            body=body,
        )


class ProviderEventsConsumer:
    """The messaging consumer of ProviderEventReceived (``core.messaging.Consumer``,
    structurally): applies the stored event inside the unit of work ``HandleEvent``
    opens, whose inbox makes each delivery count once, and writes the audit record and
    the resulting events there. An event naming no payment we know is left unapplied
    (no dead letter): recording the charge's answer applies it when the reference
    arrives."""

    name = "payments.apply_provider_events"
    events = frozenset({ProviderEventReceived.name})

    def __init__(
        self, clock: Clock, routing: RoutingPolicy | None = None, hold_warning: timedelta = DEFAULT_HOLD_WARNING
    ) -> None:
        self._clock = clock
        self._routing = routing
        self._hold_warning = hold_warning

    def handle(self, envelope: EventEnvelope, uow: PaymentsUnitOfWork) -> None:
        provider, event_id = envelope.text("provider"), envelope.text("provider_event_id")
        now = self._clock.now()
        try:
            change = apply_stored_event(
                uow,
                provider,
                event_id,
                at=now,
                initiated_by=CONSUMER.ref,
                routing=self._routing,
                hold_warning=self._hold_warning,
            )
        except PaymentNotFound:
            return
        uow.audit.append(
            AuditDraft(
                id=AuditRecordId(new_id("aud")),
                at=now,
                actor=CONSUMER.ref,
                action=Actions.APPLY_EVENT,
                target=change.target,
                outcome=Outcome.SUCCEEDED,
                correlation_id=CorrelationId(envelope.event_id[:128]),
                before=change.before,
                after=change.after,
            )
        )
        uow.outbox.add(change.events)


def apply_stored_event(
    uow: PaymentsUnitOfWork,
    provider: str,
    provider_event_id: str,
    *,
    at: datetime,
    initiated_by: str,
    routing: RoutingPolicy | None,
    hold_warning: timedelta = DEFAULT_HOLD_WARNING,
) -> Change[ApplyProviderEventResult]:
    """Apply one inbox event to its payment in ``uow`` (which the caller commits).
    Raises PaymentNotFound when it names no payment we know."""
    target = f"provider_event:{provider}:{provider_event_id}"
    stored = uow.provider_events.get(provider, provider_event_id)
    if stored is None:
        return Change(result=ApplyProviderEventResult(outcome=EventOutcome.MISSING), target=target)
    if stored.applied_at is not None:
        return Change(
            result=ApplyProviderEventResult(outcome=EventOutcome.NO_CHANGE),
            target=target,
            after={"outcome": EventOutcome.NO_CHANGE, "applied_before": stored.outcome or ""},
        )
    event, now = stored.event, at
    if not _concerns_payments(event):
        uow.provider_events.mark_applied(event.provider, event.provider_event_id, at=now, outcome="ignored")
        return Change(
            result=ApplyProviderEventResult(outcome=EventOutcome.IGNORED),
            target=target,
            after={"outcome": EventOutcome.IGNORED, "kind": event.kind.value},
        )
    foreign = _foreign(uow, event)
    if foreign is not None:
        # Another provider than the one the payment went through reports on it: the
        # first answered "unavailable" and acted anyway. A human must refund one side.
        uow.provider_events.mark_applied(event.provider, event.provider_event_id, at=now, outcome="foreign")
        return Change(
            result=ApplyProviderEventResult(outcome=EventOutcome.FOREIGN, payment_id=foreign.id),
            target=f"payment:{foreign.id}",
            after={"outcome": EventOutcome.FOREIGN, "kind": event.kind.value, "provider": event.provider},
            events=(
                PaymentAlertRaised.about(
                    foreign.id,
                    kind=AlertKind.FOREIGN_PROVIDER_EVENT,
                    provider=event.provider,
                    at=now,
                    summary=(
                        f"{event.provider} reports {event.kind.value} for payment {foreign.id}, "
                        f"which went through {foreign.provider}"
                    ),
                ),
            ),
        )
    if event.kind is ProviderEventKind.CHARGEBACK:
        return _chargeback(uow, event, at=now)
    payment = _find(uow, event)
    before = payment.status.value
    knew = (payment.provider_reference, payment.capture_reference)
    changed, alerts = apply_event(payment, event, at=now)
    if (payment.provider_reference, payment.capture_reference) != knew:
        # What this event taught the payment may be what others wait for in the inbox.
        moved, waited = apply_waiting_events(
            uow,
            payment,
            at=now,
            reference=payment.provider_reference if knew[0] is None else None,
            capture_reference=payment.capture_reference if knew[1] is None else None,
            besides=event.provider_event_id,
        )
        changed, alerts = changed or moved, [*alerts, *waited]
    events = [*alerts]
    events.extend(
        after_change(
            uow,
            payment,
            before=before,
            at=now,
            initiated_by=initiated_by,
            routing=routing,
            hold_warning=hold_warning,
        )
    )
    if changed or events:
        uow.payments.save(payment)
    outcome = EventOutcome.APPLIED if changed else EventOutcome.NO_CHANGE
    if any(isinstance(a, PaymentAlertRaised) and a.kind is AlertKind.REFUND_CURRENCY_MISMATCH for a in alerts):
        outcome = EventOutcome.REJECTED
    uow.provider_events.mark_applied(event.provider, event.provider_event_id, at=now, outcome=outcome)
    return Change(
        result=ApplyProviderEventResult(outcome=outcome, payment_id=payment.id, status=payment.status.value),
        target=f"payment:{payment.id}",
        before={"status": before},
        after={
            "status": payment.status.value,
            "outcome": outcome,
            "kind": event.kind.value,
            "provider_event_id": event.provider_event_id,
        },
        events=tuple(events),
    )


def _concerns_payments(event: ProviderEvent) -> bool:
    return event.kind in EVENT_STATUS or event.kind in (
        ProviderEventKind.PAYMENT_REFUNDED,
        ProviderEventKind.REFUND_FAILED,
        ProviderEventKind.CHARGEBACK,
    )


def _chargeback(uow: PaymentsUnitOfWork, event: ProviderEvent, *, at: datetime) -> Change[ApplyProviderEventResult]:
    """A dispute (chargeback, reversal) on one of our payments: raised as an alert, once
    (the event's key), with no money moved; disputes are handled by people for now. One
    naming no payment we know is alerted too (it may be a payment made outside gigcore)."""
    try:
        payment: Payment | None = _find(uow, event)
    except PaymentNotFound:
        payment = None
    named = payment.id if payment is not None else None
    amount = str(event.amount) if event.amount is not None else "an unknown amount"
    subject = f"payment {named}" if named else f"unknown payment {event.provider_reference or event.payment_id or '?'}"
    uow.provider_events.mark_applied(event.provider, event.provider_event_id, at=at, outcome=EventOutcome.APPLIED)
    return Change(
        result=ApplyProviderEventResult(
            outcome=EventOutcome.APPLIED,
            payment_id=named,
            status=payment.status.value if payment is not None else None,
        ),
        target=f"payment:{named}" if named else f"provider_event:{event.provider}:{event.provider_event_id}",
        after={"outcome": EventOutcome.APPLIED, "kind": event.kind.value, "provider_event_id": event.provider_event_id},
        events=(
            PaymentAlertRaised(
                event_id=EventId(new_id("evt")),
                occurred_at=at,
                aggregate_id=named or f"{event.provider}:{event.provider_reference or event.provider_event_id}",
                kind=AlertKind.CHARGEBACK,
                provider=event.provider,
                payment_id=named,
                summary=(
                    f"{event.provider} reports a chargeback of {amount} on {subject}"
                    f"{': ' + event.reason if event.reason else ''}; no money moved"
                ),
                details=(f"provider_event_id={event.provider_event_id}",),
            ),
        ),
    )


def _foreign(uow: PaymentsUnitOfWork, event: ProviderEvent) -> Payment | None:
    if event.payment_id is None or event.kind is not ProviderEventKind.PAYMENT_CAPTURED:
        return None
    try:
        payment = uow.payments.get(event.payment_id)
    except PaymentNotFound:
        return None
    if payment.provider is None or payment.provider == event.provider:
        return None
    return payment


def _find(uow: PaymentsUnitOfWork, event: ProviderEvent) -> Payment:
    """The payment an event names: by our id when echoed (and its provider agrees), else
    by the provider's reference, else by its capture's (a PayPal refund made in the
    dashboard names only the capture). Raises PaymentNotFound."""
    if event.payment_id is not None:
        try:
            payment = uow.payments.lock(event.payment_id)
        except PaymentNotFound:
            pass
        else:
            if payment.provider == event.provider:
                return payment
    if event.provider_reference is not None:
        found = uow.payments.by_provider_reference(event.provider, event.provider_reference)
        if found is not None:
            return uow.payments.lock(found.id)
    if event.capture_reference is not None:
        found = uow.payments.by_capture_reference(event.provider, event.capture_reference)
        if found is not None:
            return uow.payments.lock(found.id)
    raise PaymentNotFound(
        event.payment_id or event.provider_reference or event.capture_reference or event.provider_event_id
    )
