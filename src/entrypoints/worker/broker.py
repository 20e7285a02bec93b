"""The Dramatiq broker of a gigcore process: RabbitMQ with publisher confirms."""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import CurrentMessage, Middleware

from entrypoints.metrics import Metrics


def make_broker(url: str, metrics: Metrics | None = None) -> RabbitmqBroker:
    """A RabbitMQ broker whose every enqueue waits for the broker's confirm (and fails on
    an unroutable message), with Dramatiq's default middleware (age and time limits,
    shutdown notifications, retries…) plus CurrentMessage (actors read their retry
    count) and job metrics. Connections open lazily, at the first publish or consume."""
    broker = RabbitmqBroker(url=url, confirm_delivery=True)
    broker.add_middleware(CurrentMessage())
    if metrics is not None:
        broker.add_middleware(JobMetrics(metrics))
    dramatiq.set_broker(broker)
    return broker


class JobMetrics(Middleware):
    """Counts jobs by actor and outcome (ok, retry, dead, skipped) and times them."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: Any, message: Any) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        started = self._started.pop(message.message_id, None)
        if started is not None:
            self._metrics.job_seconds.labels(message.actor_name).observe(time.perf_counter() - started)
        if exception is None:
            outcome = "ok"
        elif message.failed:
            outcome = "dead"
            self._metrics.dead_letters_total.labels(message.actor_name).inc()
        else:
            outcome = "retry"
            self._metrics.job_retries.labels(message.actor_name).inc()
        self._metrics.jobs.labels(message.actor_name, outcome).inc()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._started.pop(message.message_id, None)
        self._metrics.jobs.labels(message.actor_name, "skipped").inc()
