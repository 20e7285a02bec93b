from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

from core.messaging.domain import Consumer, UnknownConsumer
from core.messaging.ports import MessagingUnitOfWork
from core.shared.events import EventEnvelope
from core.shared.time import Clock


class Handled(enum.Enum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"  # this consumer handled the event before: nothing done


class HandleEvent:
    """Let one consumer handle one event, once: the inbox row and the consumer's effect
    commit together, so however often the event is delivered its effect happens once.

    Order: the relay publishes an aggregate's events in outbox order, but several
    threads and processes consume each queue and retries reorder deliveries, so a
    consumer must not depend on receiving them in order: its effects are per event
    (notifications) or monotonic (a payment's status never moves back). See ADR 0011.

    Raises UnknownConsumer (final), DependencyUnavailable (transient), or whatever the
    consumer raised; nothing is written then.
    """

    def __init__(self, new_uow: Callable[[], MessagingUnitOfWork], consumers: Iterable[Consumer], clock: Clock) -> None:
        self._new_uow, self._clock = new_uow, clock
        self._consumers = {c.name: c for c in consumers}

    @property
    def consumer_names(self) -> frozenset[str]:
        return frozenset(self._consumers)

    def __call__(self, consumer_name: str, envelope: EventEnvelope) -> Handled:
        consumer = self._consumers.get(consumer_name)
        if consumer is None:
            raise UnknownConsumer(consumer_name)
        with self._new_uow() as uow:
            # One statement answers both "handled before?" and "handled right now by a
            # concurrent delivery?" (it waits for that one's commit or rollback).
            if not uow.inbox.accept(consumer.name, envelope.event_id, at=self._clock.now()):
                return Handled.DUPLICATE
            if envelope.name in consumer.events:
                consumer.handle(envelope, uow)
            uow.commit()
        return Handled.HANDLED
