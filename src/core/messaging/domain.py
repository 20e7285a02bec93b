"""Deliveries, subscriptions, consumers and dead letters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from attrs import frozen

from core.shared.errors import DomainError, ErrorCategory
from core.shared.events import EventEnvelope

_CONSUMER_NAME_MAX = 64


class Consumer(Protocol):
    """Reacts to committed events, inside the unit of work ``HandleEvent`` opens.

    ``name`` is stable: it keys the inbox and dead letters and is the Dramatiq actor's
    name. ``events`` lists the event names it subscribes to. ``handle`` writes its effect
    through the unit of work and raises a DomainError for an event it refuses (recorded
    as a dead letter, never retried) or DependencyUnavailable for a transient failure
    (retried with backoff). It must not call external services: one that needs to
    (a gateway) records an intent here and leaves the call to a use case of its own.
    """

    @property
    def name(self) -> str: ...

    @property
    def events(self) -> frozenset[str]: ...

    def handle(self, envelope: EventEnvelope, uow: Any) -> None: ...


@frozen
class Subscriptions:
    """Which consumers receive which events: the relay's routing table. Built from the
    consumers themselves, so a producer never needs to know a consumer's module."""

    by_event: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, consumers: Iterable[Consumer]) -> Subscriptions:
        table: dict[str, list[str]] = {}
        seen: set[str] = set()
        for consumer in consumers:
            if not consumer.name or len(consumer.name) > _CONSUMER_NAME_MAX or consumer.name in seen:
                raise ValueError(
                    f"consumer names must be unique and 1-{_CONSUMER_NAME_MAX} characters: {consumer.name!r}"
                )
            seen.add(consumer.name)
            for event in sorted(consumer.events):
                table.setdefault(event, []).append(consumer.name)
        return cls({event: tuple(names) for event, names in table.items()})

    def consumers_of(self, event_name: str) -> tuple[str, ...]:
        return self.by_event.get(event_name, ())

    def deliveries(self, envelopes: Sequence[EventEnvelope]) -> list[Delivery]:
        return [Delivery(consumer=c, envelope=e) for e in envelopes for c in self.consumers_of(e.name)]


@frozen
class Delivery:
    """One event for one consumer: one broker message."""

    consumer: str
    envelope: EventEnvelope

    @property
    def key(self) -> tuple[int, str]:
        return (self.envelope.seq, self.consumer)


@frozen(kw_only=True)
class DeadLetter:
    """A delivery given up on: a refused event, or retries exhausted. Kept for support
    staff to read (``gigcore run messaging.dead_letters``)."""

    id: str
    consumer: str
    event_id: str
    event_name: str
    aggregate_id: str
    attempts: int
    error_code: str
    error: str
    failed_at: datetime


@frozen(kw_only=True)
class OutboxStats:
    pending: int
    oldest_pending_at: datetime | None
    published: int

    def lag_seconds(self, now: datetime) -> float:
        return 0.0 if self.oldest_pending_at is None else max(0.0, (now - self.oldest_pending_at).total_seconds())


@frozen(kw_only=True)
class Heartbeat:
    worker_id: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime


# --- errors ---------------------------------------------------------------------------


@frozen
class UnknownConsumer(DomainError):
    """A message names a consumer this process does not have (a worker deployed without
    it): dead-lettered, so nothing is silently dropped."""

    code: ClassVar[str] = "unknown_consumer"
    title: ClassVar[str] = "No such event consumer"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    consumer: str

    @property
    def detail(self) -> str:
        return f"no consumer named {self.consumer!r}"


class Actions:
    """Messaging's actions, as the identity policy names them."""

    READ_DEAD_LETTERS = "messaging.dead_letters.read"
    READ_STATUS = "messaging.status.read"


def is_transient(error: BaseException) -> bool:
    """Worth retrying: the dependency may come back. Domain errors
    of any other category are final for this event. Anything unexpected (a bug, an
    untranslated driver error) is retried a bounded number of times, then dead-lettered."""
    if isinstance(error, DomainError):
        return (
            error.category in (ErrorCategory.UNAVAILABLE, ErrorCategory.CONFLICT)
            and error.code != "idempotency_key_reused"
        )
    return True


def describe(error: BaseException) -> tuple[str, str]:
    """(code, text) for a dead letter: a domain error's stable code and detail; for
    anything else its type and a bounded message (no tracebacks, no locals)."""
    if isinstance(error, DomainError):
        return error.code, error.detail[:500]
    return "unexpected_error", f"{type(error).__name__}: {str(error)[:400]}"
