from __future__ import annotations

from collections.abc import Callable

from core.messaging.domain import DeadLetter, describe
from core.messaging.ports import MessagingUnitOfWork
from core.shared.events import EventEnvelope
from core.shared.ids import new_id
from core.shared.time import Clock


class RecordDeadLetter:
    """Record that a consumer gave up on an event (refused, or out of retries), so the
    failure is visible to support staff (``gigcore run list-dead-letters``). Recording it
    twice keeps the first. Returns the new letter's id, or None when this consumer
    already had one for the event."""

    def __init__(self, new_uow: Callable[[], MessagingUnitOfWork], clock: Clock) -> None:
        self._new_uow, self._clock = new_uow, clock

    def __call__(self, consumer: str, envelope: EventEnvelope, *, attempts: int, error: BaseException) -> str | None:
        code, text = describe(error)
        now = self._clock.now()
        letter = DeadLetter(
            # The failure time first, so that ids sort by time (letters list newest first
            # by id); new_id's random part alone would not.
            id=new_id(f"dlq_{now:%Y%m%dT%H%M%S%f}"),
            consumer=consumer,
            event_id=envelope.event_id,
            event_name=envelope.name,
            aggregate_id=envelope.aggregate_id,
            attempts=attempts,
            error_code=code,
            error=text,
            failed_at=now,
        )
        with self._new_uow() as uow:
            recorded = uow.dead_letters.record(letter)
            uow.commit()
        return letter.id if recorded else None
