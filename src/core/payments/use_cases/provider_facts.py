"""Applying what a provider says to a payment, and posting what the ledger then owes.

Shared by every use case that learns something from a provider (the charge answer, a
webhook event, a janitor lookup), so the rules live once:

- ``apply_event`` moves the payment's monotonic state machine with one provider event;
- ``settle_ledger`` posts, exactly once each, the capture (clearing -> wallet: what the
  provider reported capturing, never more than the intent), the correction of a lower
  capture reported after it (wallet -> clearing, once), every
  succeeded refund not yet posted (wallet -> clearing) and the reversal of every failed
  refund that was posted (clearing -> wallet). Exactly once because the payment records
  each entry's id and is saved, under its lock and version, in the same transaction as
  the entry. Posting waits for the capture: a refund seen before its capture is posted
  when the capture arrives, so any order of facts ends in the same books. The refunds
  booked never exceed what the wallet was credited: one beyond it is alerted (once) and
  left unbooked until it fits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.payments.domain import (
    EVENT_STATUS,
    PLATFORM,
    RESOLVE_BACKOFF,
    AccountKinds,
    AlertKind,
    EntryKinds,
    Payment,
    PaymentAlertRaised,
    PaymentCaptured,
    PaymentPurpose,
    PaymentRefunded,
    PaymentStatus,
    PaymentStatusChanged,
    ProviderEvent,
    ProviderEventKind,
    Refund,
    RefundStatus,
    RoutingPolicy,
    TimerKinds,
    resolve_delay,
)
from core.payments.ports import PaymentsBook, PaymentsUnitOfWork
from core.shared.errors import DomainError
from core.shared.events import DomainEvent
from core.shared.ids import AccountId, EntryId, EventId, new_id
from core.shared.money import Money
from core.shared.timers import Timer

DEFAULT_HOLD_WARNING = timedelta(days=7)


def capture_timer(payment_id: str, *, step: int, now: datetime) -> Timer:
    """The ``payments.capture`` timer of attempt ``step``: the first is due at once, the
    later ones on the janitor's schedule (``resolve_delay``)."""
    return Timer(
        id=f"tmr_capture_{payment_id}_{step}",
        kind=TimerKinds.CAPTURE,
        due_at=now if step == 0 else now + resolve_delay(step),
        payload={"payment_id": payment_id, "step": step},
    )


def next_attempt(
    uow: PaymentsUnitOfWork,
    timer: Timer,
    *,
    step: int,
    alert: Callable[[], DomainEvent],
    patient_days: int = 0,
) -> list[DomainEvent]:
    """Schedule attempt ``step + 1`` (``timer``) of a retried provider call (the janitor's
    look-ups and refund retries, captures); the alert, once, when that attempt is the first
    on the daily step of the schedule (``RESOLVE_BACKOFF``), or ``patient_days`` daily
    attempts later (payments that take days by nature)."""
    uow.timers.schedule(timer)
    return [alert()] if step + 1 == len(RESOLVE_BACKOFF) - 1 + patient_days else []


def _event_id() -> EventId:
    return EventId(new_id("evt"))


def apply_event(payment: Payment, event: ProviderEvent, *, at: datetime) -> tuple[bool, list[DomainEvent]]:
    """Apply one provider event; returns (whether anything changed, alert events)."""
    alerts: list[DomainEvent] = []
    status = EVENT_STATUS.get(event.kind)
    if status is not None:
        changed = payment.observe(status, at=event.occurred_at, reason=event.reason)
        if event.provider_reference is not None and payment.provider_reference is None:
            payment.provider_reference = event.provider_reference
            changed = True
        if payment.learn_capture(event.capture_reference):
            changed = True
        if event.kind is ProviderEventKind.PAYMENT_CAPTURED and event.amount is not None:
            alerts.extend(capture_reported(payment, event.amount, provider=event.provider, at=at))
        return changed, alerts
    if event.kind in (ProviderEventKind.PAYMENT_REFUNDED, ProviderEventKind.REFUND_FAILED):
        if event.amount is not None and event.amount.currency != payment.amount.currency:
            # Never booked (the wallet is in the payment's currency), and raising would only
            # redeliver it until it is dead-lettered: the event is applied as an alert.
            alerts.append(
                PaymentAlertRaised.about(
                    payment.id,
                    kind=AlertKind.REFUND_CURRENCY_MISMATCH,
                    provider=event.provider,
                    at=at,
                    summary=(
                        f"{event.provider} reports {event.kind.value} of {event.amount} "
                        f"(refund {event.refund_reference or event.refund_id or '?'}) "
                        f"for payment {payment.id} of {payment.amount}; not applied"
                    ),
                )
            )
            return False, alerts
        refund_status = (
            RefundStatus.SUCCEEDED if event.kind is ProviderEventKind.PAYMENT_REFUNDED else RefundStatus.FAILED
        )
        learned = payment.learn_capture(event.capture_reference)
        before = [(r.id, r.status) for r in payment.refunds]
        payment.refund_observed(
            provider_refund_reference=event.refund_reference,
            refund_id=event.refund_id,
            amount=event.amount,
            status=refund_status,
            at=event.occurred_at,
        )
        return learned or before != [(r.id, r.status) for r in payment.refunds], alerts
    return False, alerts


def capture_reported(payment: Payment, amount: Money, *, provider: str, at: datetime) -> list[DomainEvent]:
    """Record the amount a provider says it captured (the ledger credits it, never more
    than the intent); an alert when it differs from the intent."""
    if not payment.capture_reported(amount):
        return []
    credited = payment.credited
    due = payment.correction_due
    if due is not None:
        outcome = f"{credited} credited, {due} to take back"
    elif payment.capture_entry_id is not None and amount.currency == credited.currency and credited.exceeds(amount):
        # One correction per payment: a still lower report needs a person.
        outcome = f"{credited} credited, not booked"
    else:
        outcome = f"{credited} credited"
    return [
        PaymentAlertRaised.about(
            payment.id,
            kind=AlertKind.CAPTURED_AMOUNT_MISMATCH,
            provider=provider,
            at=at,
            summary=f"{provider} captured {amount} for payment {payment.id} of {payment.amount}; {outcome}",
        )
    ]


def settle_ledger(
    payment: Payment,
    book: PaymentsBook,
    *,
    at: datetime,
    initiated_by: str,
) -> list[DomainEvent]:
    """Post what the payment's state owes the ledger and has not been posted yet; returns
    the events (PaymentCaptured, PaymentRefunded, alerts). Never posts twice."""
    events: list[DomainEvent] = []
    if not payment.status.is_captured or payment.provider is None:
        return events
    currency = payment.amount.currency
    clearing = book.account(
        owner_id=PLATFORM, kind=AccountKinds.GATEWAY_CLEARING, currency=currency, label=payment.provider, at=at
    )
    wallet = book.account(owner_id=payment.payer_id, kind=AccountKinds.WALLET, currency=currency, at=at)
    # What the provider took, never more than the intent: a shortfall credited as the
    # intent would be money the platform never received; an excess stays in clearing.
    credited = payment.credited
    if payment.capture_entry_id is None and credited.minor > 0:
        payment.capture_entry_id = book.post(
            kind=EntryKinds.CAPTURE,
            memo=f"payment {payment.id} captured by {payment.provider}",
            initiated_by=initiated_by,
            legs=[(clearing, credited.negated()), (wallet, credited)],
            at=at,
        )
        events.append(
            PaymentCaptured(
                event_id=_event_id(),
                occurred_at=at,
                aggregate_id=payment.id,
                payment_id=payment.id,
                payer_id=payment.payer_id,
                amount=credited,
                provider=payment.provider,
                purpose=payment.purpose,
                escrow=payment.escrow,
                entry_id=payment.capture_entry_id,
                hold_deadline=payment.hold_deadline,
            )
        )
    events.extend(_correct_capture(payment, book, wallet=wallet, clearing=clearing, at=at, initiated_by=initiated_by))
    # Reversals first: the money they return may make room for a refund that did not fit.
    for refund in payment.refunds:
        if refund.status is RefundStatus.FAILED and refund.entry_id is not None and refund.reversal_entry_id is None:
            refund.reversal_entry_id = book.post(
                kind=EntryKinds.REFUND_REVERSAL,
                memo=f"refund {refund.id} of payment {payment.id} failed; returned to the wallet",
                initiated_by=initiated_by,
                legs=[(clearing, refund.amount.negated()), (wallet, refund.amount)],
                at=at,
            )
    for refund in payment.refunds:
        if refund.status is RefundStatus.SUCCEEDED and refund.entry_id is None and not refund.unfunded:
            if not payment.refund_fits(refund):
                # Money the wallet was never credited (a short capture, one in another
                # currency): not booked, so the wallet never pays for the provider's excess.
                if not refund.exceeds_credited:
                    refund.exceeds_credited = True
                    events.append(_exceeds_credited(payment, refund, at=at))
                continue
            try:
                refund.entry_id = post_refund(
                    book,
                    payment,
                    amount=refund.amount,
                    wallet=wallet,
                    clearing=clearing,
                    at=at,
                    initiated_by=initiated_by,
                )
            except DomainError as error:
                if error.code != "insufficient_funds":
                    raise
                # The provider refunded money the payer has spent since: the books cannot
                # follow without a negative wallet. Someone must decide (claw back, write off).
                refund.unfunded = True
                events.append(
                    PaymentAlertRaised.about(
                        payment.id,
                        kind=AlertKind.REFUND_UNFUNDED,
                        provider=payment.provider,
                        at=at,
                        summary=f"refund {refund.id} of {refund.amount} exceeds the payer's wallet",
                    )
                )
                continue
            events.append(
                PaymentRefunded(
                    event_id=_event_id(),
                    occurred_at=at,
                    aggregate_id=payment.id,
                    payment_id=payment.id,
                    refund_id=refund.id,
                    amount=refund.amount,
                    entry_id=refund.entry_id,
                )
            )
    return events


def _correct_capture(
    payment: Payment,
    book: PaymentsBook,
    *,
    wallet: AccountId,
    clearing: AccountId,
    at: datetime,
    initiated_by: str,
) -> list[DomainEvent]:
    """Post the correction of a lower capture reported after posting, once; an alert
    instead when the wallet no longer holds the difference."""
    due = payment.correction_due
    if due is None:
        return []
    try:
        entry_id = book.post(
            kind=EntryKinds.CAPTURE_CORRECTION,
            memo=f"payment {payment.id}: {payment.provider} captured {payment.corrected}, not {payment.credited}",
            initiated_by=initiated_by,
            legs=[(wallet, due.negated()), (clearing, due)],
            at=at,
        )
    except DomainError as error:
        if error.code != "insufficient_funds":
            raise
        # The payer has spent the difference since: someone must decide (claw back, write off).
        payment.correction_unfunded = True
        return [
            PaymentAlertRaised.about(
                payment.id,
                kind=AlertKind.CAPTURE_CORRECTION_UNFUNDED,
                provider=payment.provider or "",
                at=at,
                summary=(
                    f"{payment.provider} captured {payment.corrected} for payment {payment.id}, "
                    f"{payment.credited} was credited: {due} to take back exceeds the payer's wallet"
                ),
            )
        ]
    payment.correction_posted(entry_id, at=at)
    return []


def _exceeds_credited(payment: Payment, refund: Refund, *, at: datetime) -> PaymentAlertRaised:
    return PaymentAlertRaised.about(
        payment.id,
        kind=AlertKind.REFUND_EXCEEDS_CREDITED,
        provider=payment.provider or "",
        at=at,
        summary=(
            f"{payment.provider} refunded {refund.amount} (refund {refund.id}) of payment {payment.id}, "
            f"beyond what its capture credited ({payment.credited}, {payment.refunds_booked} refunded "
            "already); not booked"
        ),
    )


def post_refund(
    book: PaymentsBook,
    payment: Payment,
    *,
    amount: Money,
    wallet: AccountId,
    clearing: AccountId,
    at: datetime,
    initiated_by: str,
) -> EntryId:
    return book.post(
        kind=EntryKinds.REFUND,
        memo=f"refund of payment {payment.id} through {payment.provider}",
        initiated_by=initiated_by,
        legs=[(wallet, amount.negated()), (clearing, amount)],
        at=at,
    )


def after_change(
    uow: PaymentsUnitOfWork,
    payment: Payment,
    *,
    before: str,
    at: datetime,
    initiated_by: str,
    routing: RoutingPolicy | None,
    hold_warning: timedelta = DEFAULT_HOLD_WARNING,
) -> list[DomainEvent]:
    """Everything that follows a state change, in the caller's transaction: the capture
    of a payment that became AUTHORIZED (a ``payments.capture`` timer due at once: the
    payer approved a PayPal order, or a provider authorised without capturing), the hold
    deadline (and its warning timer) on an escrow funding's capture, the ledger, and a
    status-changed event. The caller saves the payment."""
    events: list[DomainEvent] = []
    if payment.status is PaymentStatus.AUTHORIZED and before != PaymentStatus.AUTHORIZED.value:
        uow.timers.schedule(capture_timer(payment.id, step=0, now=at))
    if (
        payment.status.is_captured
        and payment.capture_entry_id is None
        and payment.purpose is PaymentPurpose.ESCROW_FUNDING
        and payment.hold_deadline is None
        and routing is not None
        and payment.provider is not None
    ):
        route = routing.route(payment.provider)
        if route is not None and route.hold_limit is not None:
            captured_at = payment.captured_at or at
            payment.hold_deadline = captured_at + route.hold_limit
            warn = min(hold_warning, route.hold_limit / 2)
            uow.timers.schedule(
                Timer(
                    id=f"tmr_hold_{payment.id}",
                    kind=TimerKinds.HOLD_DEADLINE,
                    due_at=payment.hold_deadline - warn,
                    payload={"payment_id": payment.id},
                )
            )
    events.extend(settle_ledger(payment, uow.book, at=at, initiated_by=initiated_by))
    if payment.status.value != before:
        events.append(
            PaymentStatusChanged(
                event_id=_event_id(),
                occurred_at=at,
                aggregate_id=payment.id,
                payment_id=payment.id,
                status=payment.status,
                provider=payment.provider,
            )
        )
    return events
