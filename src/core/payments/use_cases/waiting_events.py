"""Provider events that overtook what they name, applied when the payment learns it.

A webhook naming a payment reference we do not know yet, or only a capture id (a PayPal
refund made in the dashboard names just the capture) that the payment has not learned
yet, finds no payment: ``ApplyProviderEvent`` leaves it unapplied in the inbox. Whatever
teaches the payment the reference or the capture id (the charge's answer, a capture
answer, a webhook, a janitor lookup) calls ``apply_waiting_events`` in the same unit of
work, which applies those events to it and marks them applied, so each counts once.
"""

from __future__ import annotations

from datetime import datetime

from core.payments.domain import EVENT_STATUS, Payment, ProviderEventKind
from core.payments.ports import PaymentsUnitOfWork
from core.payments.use_cases.provider_facts import apply_event
from core.shared.events import DomainEvent

# Only what ``apply_event`` applies: a chargeback or an event of no interest is never left
# waiting (``ApplyProviderEvent`` settles it whether or not it finds the payment), and one
# still queued for its consumer is left to it.
_WAITING_KINDS = frozenset({*EVENT_STATUS, ProviderEventKind.PAYMENT_REFUNDED, ProviderEventKind.REFUND_FAILED})


def apply_waiting_events(
    uow: PaymentsUnitOfWork,
    payment: Payment,
    *,
    at: datetime,
    reference: str | None = None,
    capture_reference: str | None = None,
    besides: str | None = None,
) -> tuple[bool, list[DomainEvent]]:
    """Apply to ``payment`` (locked, saved by the caller) the unapplied events of its
    provider stored under ``reference`` or ``capture_reference`` (the ones it just
    learned), oldest first, each once, and mark them applied; ``besides``: the id of the
    event being applied by the caller, left to it. Returns (whether the payment changed,
    the alerts)."""
    provider = payment.provider
    if provider is None:
        return False, []
    inbox = uow.provider_events
    found = [
        *(inbox.unapplied_for(provider, reference) if reference is not None else []),
        *(inbox.unapplied_for_capture(provider, capture_reference) if capture_reference is not None else []),
    ]
    waiting = {s.event.provider_event_id: s for s in found}  # one naming both counts once
    changed, alerts = False, []
    for stored in sorted(waiting.values(), key=lambda s: (s.received_at, s.event.provider_event_id)):
        event = stored.event
        if event.provider_event_id == besides or event.kind not in _WAITING_KINDS:
            continue
        moved, raised = apply_event(payment, event, at=at)
        changed = changed or moved
        alerts.extend(raised)
        uow.provider_events.mark_applied(provider, event.provider_event_id, at=at, outcome="applied")
    return changed, alerts
