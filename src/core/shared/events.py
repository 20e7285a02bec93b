"""Domain events: facts that happened, named in the past tense.

Use cases hand them to the unit of work, which writes them to the outbox in the same
transaction as the state change; the relay publishes them later (at least once).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from attrs import frozen

from core.shared.ids import EventId


@frozen(kw_only=True)
class DomainEvent:
    """Base of every event. ``aggregate_id`` orders events per aggregate in the outbox."""

    name: ClassVar[str] = "domain_event"
    event_id: EventId
    occurred_at: datetime
    aggregate_id: str
