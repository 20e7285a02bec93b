"""What messaging needs from storage and from a broker.

Every port here works inside the unit of work (``MessagingUnitOfWork``) except the
``Publisher``, which is called with no transaction open. Storage failures surface as
DependencyUnavailable (retry later), never as driver exceptions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from core.messaging.domain import DeadLetter, Delivery, Heartbeat, OutboxStats
from core.shared.events import EventEnvelope
from core.shared.unit_of_work import UnitOfWork


class OutboxFeed(Protocol):
    """The relay's side of the outbox (commands add to it through ``Outbox.add``)."""

    def pending(self, *, limit: int) -> list[EventEnvelope]:
        """Committed, unpublished events, oldest first (outbox order), at most ``limit``."""
        ...

    def mark_published(self, seqs: Collection[int], *, at: datetime) -> None:
        """Mark these events published. Marking one twice changes nothing."""
        ...

    def stats(self) -> OutboxStats:
        """Pending count, the oldest pending event's time, published count."""
        ...


class Inbox(Protocol):
    """Which events each consumer has handled. Written in the same transaction as the
    consumer's effect; the (consumer, event id) pair is unique."""

    def accept(self, consumer: str, event_id: str, *, at: datetime) -> bool:
        """Record the event as handled by ``consumer``; False if it was already (the
        caller then does nothing). A concurrent transaction accepting the same pair
        makes this one wait for it, then answer False if it committed."""
        ...

    def handled(self, consumer: str, event_id: str) -> bool: ...


class DeadLetters(Protocol):
    def record(self, letter: DeadLetter) -> bool:
        """Store a dead letter; False (and nothing stored) if this consumer already has
        one for this event."""
        ...

    def list(self, *, limit: int, consumer: str | None = None, before_id: str | None = None) -> list[DeadLetter]:
        """Newest first, ids descending (ids sort by time)."""
        ...

    def count(self) -> int: ...


class Heartbeats(Protocol):
    def beat(self, heartbeat: Heartbeat) -> None:
        """Insert or refresh this worker's heartbeat."""
        ...

    def latest(self) -> Heartbeat | None:
        """The most recent heartbeat of any worker."""
        ...


class Leases(Protocol):
    """Named, expiring leases: one holder at a time (the outbox relay's leadership)."""

    def acquire(self, name: str, *, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease if it is free, expired or ours; False if another
        holder's lease is still valid."""
        ...

    def release(self, name: str, *, holder: str) -> None:
        """Give the lease up if we hold it."""
        ...


class MessagingUnitOfWork(UnitOfWork, Protocol):
    @property
    def outbox_feed(self) -> OutboxFeed: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def dead_letters(self) -> DeadLetters: ...

    @property
    def heartbeats(self) -> Heartbeats: ...

    @property
    def leases(self) -> Leases: ...


class Publisher(Protocol):
    """Hands deliveries to their consumers: a broker (RabbitMQ with publisher confirms)
    or the in-process dispatcher. Called with no transaction open.

    Returns the deliveries that were confirmed (the broker stored them, or the consumer
    handled or dead-lettered them). Within one aggregate it stops at the first delivery
    it could not confirm, so a later event never overtakes an earlier one. Raises
    nothing for a broker outage: what was not confirmed is simply not returned.
    """

    def publish(self, deliveries: Sequence[Delivery]) -> list[Delivery]: ...
