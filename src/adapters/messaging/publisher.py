"""The outbox relay's publisher: Dramatiq messages on RabbitMQ, confirmed by the broker."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import dramatiq
import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from adapters.messaging.envelopes import encode, message_id, queue_for
from core.messaging.domain import Delivery

_log = structlog.get_logger("gigcore.relay")


class DramatiqPublisher:
    """Publishes each delivery as a Dramatiq message to its consumer's actor, *by actor
    name* (``actor_name`` = the consumer's name; nothing here imports an actor module),
    and returns only what RabbitMQ confirmed.

    The broker must have ``confirm_delivery=True``: then every ``enqueue`` returns after
    RabbitMQ confirmed the message (persisted, routed; unroutable raises), and raises
    after Dramatiq's own retries when the connection is gone. Confirms are awaited one
    message at a time per channel, so deliveries are spread over ``lanes`` threads, each
    with its own channel: the deliveries of one aggregate always go to the same lane, in
    outbox order, and a lane stops at its first failure so that nothing overtakes it.
    """

    def __init__(self, broker: RabbitmqBroker, *, lanes: int = 8) -> None:
        if not broker.confirm_delivery:
            raise ValueError("the relay needs a broker with confirm_delivery=True")
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        self._broker = broker
        self._lanes = lanes
        self._pool = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="gigcore-relay")
        self._closed = threading.Event()

    def publish(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        lanes: list[list[Delivery]] = [[] for _ in range(self._lanes)]
        for delivery in deliveries:
            lanes[hash(delivery.envelope.aggregate_id) % self._lanes].append(delivery)
        futures = [self._pool.submit(self._publish_lane, lane) for lane in lanes if lane]
        confirmed: list[Delivery] = []
        failures: list[str] = []
        for future in futures:
            lane_confirmed, lane_failure = future.result()
            confirmed.extend(lane_confirmed)
            if lane_failure is not None:
                failures.append(lane_failure)
        if failures:  # one line per round, not one per message
            _log.warning(
                "publish failed; the events stay in the outbox",
                confirmed=len(confirmed),
                unconfirmed=len(deliveries) - len(confirmed),
                error=failures[0],
            )
        return confirmed

    def _publish_lane(self, lane: list[Delivery]) -> tuple[list[Delivery], str | None]:
        confirmed: list[Delivery] = []
        failure: str | None = None
        stopped: set[str] = set()  # aggregates whose next delivery must wait for a retry
        for delivery in lane:
            aggregate = delivery.envelope.aggregate_id
            if aggregate in stopped or self._closed.is_set() or failure is not None:
                # After one failure the connection is most likely gone: the rest of the
                # lane waits for the next round rather than retrying each message.
                continue
            message: dramatiq.Message[None] = dramatiq.Message(
                queue_name=queue_for(delivery.consumer),
                actor_name=delivery.consumer,
                args=(encode(delivery.envelope),),
                kwargs={},
                options={},
                message_id=message_id(delivery.consumer, delivery.envelope.event_id),
            )
            try:
                self._broker.enqueue(message)
            except Exception as error:  # connection gone, nacked, unroutable: not sent
                failure = type(error).__name__
                stopped.add(aggregate)
                continue
            confirmed.append(delivery)
        return confirmed, failure

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=True)
