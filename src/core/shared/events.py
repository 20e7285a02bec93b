"""Domain events: facts that happened, named in the past tense.

Use cases hand them to the unit of work, which writes them to the outbox in the same
transaction as the state change; the relay publishes them later (at least once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from attrs import field, frozen

from core.shared.errors import DomainError
from core.shared.ids import EventId


@frozen(kw_only=True)
class DomainEvent:
    """Base of every event. ``aggregate_id`` orders events per aggregate in the outbox."""

    name: ClassVar[str] = "domain_event"
    event_id: EventId
    occurred_at: datetime
    aggregate_id: str


@frozen(kw_only=True)
class EventEnvelope:
    """A committed event as consumers receive it, from the outbox or a broker message.

    ``seq`` is the outbox position: it orders the events of one aggregate (they commit in
    that order, since each command locks its aggregate). ``payload`` holds the event's
    fields as JSON primitives (money as ``{"minor": int, "currency": str}``); consumers
    read what they need with ``text`` / ``number`` and never rebuild whole aggregates.
    """

    seq: int
    event_id: EventId
    name: str
    aggregate_id: str
    occurred_at: datetime
    payload: Mapping[str, object] = field(factory=dict, hash=False)

    def text(self, key: str) -> str:
        value = self.payload.get(key)
        if not isinstance(value, str):
            raise MalformedEvent(self.event_id, f"{key} is not a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.payload.get(key)
        if value is not None and not isinstance(value, str):
            raise MalformedEvent(self.event_id, f"{key} is not a string")
        return value

    def number(self, key: str) -> int:
        value = self.payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedEvent(self.event_id, f"{key} is not an integer")
        return value


@frozen
class MalformedEvent(DomainError):
    """An event's payload lacks a field its consumer needs: a bug to fix, never retried."""

    code: ClassVar[str] = "malformed_event"
    title: ClassVar[str] = "The event cannot be read by its consumer"
    event_id: str
    problem: str

    @property
    def detail(self) -> str:
        return f"event {self.event_id}: {self.problem}"
