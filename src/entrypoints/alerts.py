"""Alerts reach people: every ``payments.alert_raised`` event is written to the log.

An alert is a domain event (outbox, ADR 11): something a person must look at — a capture
that differs from the intent, a refund the wallet cannot cover, a chargeback, a payment
still unknown after a day, a reconciliation discrepancy. ``AlertLog`` is a consumer, so
each alert is logged exactly once (the inbox deduplicates redeliveries), at WARNING, as
one structured line (``event`` = "payment alert", with ``kind``, ``provider``,
``payment_id``, ``summary``, ``details``) that log-based alerting can match; the runbooks
(``architecture/runbooks/payments-*.md``) say what to do for each kind. Embedders who page
or open tickets add their own consumer (``GIGCORE_EXTRA_CONSUMERS``).

It never refuses an event: a field of an unexpected type is logged as it came.
"""

from __future__ import annotations

from typing import Any

import structlog

from core.payments.domain import PaymentAlertRaised
from core.shared.events import EventEnvelope

_log = structlog.get_logger("gigcore.alerts")


class AlertLog:
    """The ``alerts.log`` consumer (``core.messaging.Consumer``, structurally)."""

    name = "alerts.log"
    events = frozenset({PaymentAlertRaised.name})

    def handle(self, envelope: EventEnvelope, uow: Any) -> None:
        payload = envelope.payload
        details = payload.get("details")
        _log.warning(
            "payment alert",
            kind=payload.get("kind"),
            provider=payload.get("provider"),
            payment_id=payload.get("payment_id"),
            summary=payload.get("summary"),
            details=list(details) if isinstance(details, list | tuple) else details,
            alert_event_id=str(envelope.event_id),
            occurred_at=envelope.occurred_at.isoformat(),
        )
