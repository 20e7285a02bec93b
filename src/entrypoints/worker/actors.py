"""One Dramatiq actor per event consumer, each a thin call into the core.

The actor's name is the consumer's name and its queue ``gigcore.events.<name>``; the
relay enqueues by that name (``adapters.messaging.publisher``) and never imports this
module. Retries: transient failures (dependency down, out of order, unexpected errors)
back off from 1 s up to ``job_max_backoff_seconds``, at most ``job_max_retries`` times;
a final failure or the last attempt records a dead letter in the database (visible
through ``gigcore run messaging.dead_letters``) and the message goes to RabbitMQ's
dead-letter queue (``.XQ``). Every actor's time limit is far below RabbitMQ's consumer
timeout (30 minutes by default), which would otherwise redeliver it in a loop.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq
import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import CurrentMessage

from adapters.messaging.envelopes import decode, queue_for
from core.messaging.domain import is_transient
from core.messaging.use_cases.handle_event import HandleEvent
from core.messaging.use_cases.record_dead_letter import RecordDeadLetter
from core.shared.errors import DomainError

RABBITMQ_CONSUMER_TIMEOUT_SECONDS = 30 * 60
MIN_BACKOFF_MS = 1_000

_log = structlog.get_logger("gigcore.worker")


class PermanentFailure(Exception):
    """Raised to make Dramatiq fail a message without retrying it (``throws``); the
    dead letter is recorded already."""


def declare_consumer_actors(
    broker: RabbitmqBroker,
    handle_event: HandleEvent,
    record_dead_letter: RecordDeadLetter,
    *,
    max_retries: int,
    max_backoff_seconds: int,
    time_limit_seconds: int,
) -> list[dramatiq.Actor[..., None]]:
    if time_limit_seconds * 2 > RABBITMQ_CONSUMER_TIMEOUT_SECONDS:
        raise ValueError("a job's time limit must stay far below RabbitMQ's consumer timeout")
    actors = []
    for name in sorted(handle_event.consumer_names):
        process = _processor(name, handle_event, record_dead_letter, max_retries=max_retries)
        actors.append(
            dramatiq.actor(
                actor_name=name,
                queue_name=queue_for(name),
                broker=broker,
                max_retries=max_retries,
                min_backoff=MIN_BACKOFF_MS,
                max_backoff=max_backoff_seconds * 1000,
                time_limit=time_limit_seconds * 1000,
                throws=(PermanentFailure,),
            )(process)
        )
    return actors


def _processor(
    consumer: str, handle_event: HandleEvent, record_dead_letter: RecordDeadLetter, *, max_retries: int
) -> Callable[[object], None]:
    def process(document: object) -> None:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0) or 0) if message is not None else 0
        try:
            envelope = decode(document)
        except DomainError as error:
            # Not an envelope we wrote: nothing to record it under; the broker keeps it.
            _log.error("undecodable message dead-lettered", consumer=consumer, code=error.code)
            raise PermanentFailure(error.code) from None
        try:
            handle_event(consumer, envelope)
        except Exception as error:
            final = not is_transient(error) or retries >= max_retries
            log = _log.error if final else _log.warning
            log(
                "event handling failed",
                consumer=consumer,
                event_id=envelope.event_id,
                event_name=envelope.name,
                attempt=retries + 1,
                final=final,
                code=getattr(error, "code", type(error).__name__),
            )
            if not final:
                raise
            record_dead_letter(consumer, envelope, attempts=retries + 1, error=error)
            raise PermanentFailure(getattr(error, "code", type(error).__name__)) from error

    process.__name__ = f"consume_{consumer}"
    return process
