"""The in-process publisher of the embedded default: no broker, same consumers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from core.messaging.domain import Delivery, is_transient
from core.shared.events import EventEnvelope
from core.shared.time import Clock

Handle = Callable[[str, EventEnvelope], object]
RecordDeadLetter = Callable[..., str | None]
OnFailure = Callable[[Delivery, BaseException, int, bool], None]

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0


class DirectPublisher:
    """A ``Publisher`` that hands each delivery straight to ``HandleEvent`` in this
    process, after the producing transaction committed (the relay only reads committed
    events). Used when no broker is configured (``gigcore serve`` alone, embedders).

    A delivery that fails transiently is retried in later rounds with exponential
    backoff (1 s doubling to 5 min) up to ``max_attempts``; a final failure, or running
    out of attempts, records a dead letter, and the delivery counts as done. While one
    is waiting, later events of the same aggregate for the same consumer wait behind it.
    Attempt counts live in memory: a restart starts them again (at least once holds,
    the inbox keeps effects single).
    """

    def __init__(
        self,
        handle: Handle,
        record_dead_letter: RecordDeadLetter,
        clock: Clock,
        *,
        max_attempts: int = 8,
        on_failure: OnFailure | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._handle, self._dead_letter, self._clock = handle, record_dead_letter, clock
        self._max_attempts, self._on_failure = max_attempts, on_failure
        self._attempts: dict[tuple[int, str], tuple[int, datetime]] = {}

    def publish(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        confirmed: list[Delivery] = []
        waiting: set[tuple[str, str]] = set()  # (consumer, aggregate) held behind a failure
        for delivery in deliveries:
            lane = (delivery.consumer, delivery.envelope.aggregate_id)
            if lane in waiting:
                continue
            attempts, not_before = self._attempts.get(delivery.key, (0, None))
            if not_before is not None and self._clock.now() < not_before:
                waiting.add(lane)
                continue
            try:
                self._handle(delivery.consumer, delivery.envelope)
            except Exception as error:  # every failure is classified below, none escapes
                attempts += 1
                final = not is_transient(error) or attempts >= self._max_attempts
                if self._on_failure is not None:
                    self._on_failure(delivery, error, attempts, final)
                if final and self._bury(delivery, attempts, error):
                    confirmed.append(delivery)
                else:
                    backoff = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (attempts - 1))
                    self._attempts[delivery.key] = (attempts, self._clock.now() + timedelta(seconds=backoff))
                    waiting.add(lane)
                continue
            self._attempts.pop(delivery.key, None)
            confirmed.append(delivery)
        return confirmed

    def _bury(self, delivery: Delivery, attempts: int, error: BaseException) -> bool:
        try:
            self._dead_letter(delivery.consumer, delivery.envelope, attempts=attempts, error=error)
        except Exception:  # storage down: keep the delivery pending, retry later
            return False
        self._attempts.pop(delivery.key, None)
        return True
