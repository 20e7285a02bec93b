"""One worker process: Dramatiq consumers, the outbox relay, the timer scheduler, a
heartbeat and a Prometheus endpoint, stopped gracefully by SIGTERM or SIGINT.

Shutdown, on the first signal: the relay finishes its round and gives its lease up
(another worker's relay leads at once), the timer scheduler finishes its round, Dramatiq
stops consuming, puts prefetched messages back and lets in-flight jobs finish within
``GIGCORE_WORKER_SHUTDOWN_SECONDS``; then connections and pools close and the logs are
flushed. A second signal exits at once (messages not acknowledged are redelivered: the
inboxes keep their effects single).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from types import FrameType

import dramatiq
import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from adapters.messaging.publisher import DramatiqPublisher
from core.messaging.domain import Heartbeat
from core.shared.errors import DependencyUnavailable
from entrypoints.background import Loop
from entrypoints.container import Runtime
from entrypoints.metrics import Metrics, process_metrics, serve_metrics, watch_runtime
from entrypoints.timer_scheduler import scheduler_for
from entrypoints.worker.actors import declare_consumer_actors
from entrypoints.worker.broker import make_broker

_log = structlog.get_logger("gigcore.worker")

FORCED_EXIT = 130
# A signal within this long of the first is the same stop arriving twice (a service manager
# signals the whole process group, and the supervisor passes it on): not "force it".
SIGNAL_ECHO_SECONDS = 1.0


class WorkerProcess:
    def __init__(self, runtime: Runtime, *, index: int = 0) -> None:
        if not runtime.settings.broker_url:
            raise ValueError("the worker needs GIGCORE_BROKER_URL")
        self._runtime = runtime
        self._settings = runtime.settings
        self._index = index
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._signals = 0
        self._first_signal: float | None = None

    def request_stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: FrameType | None) -> None:
            now = time.monotonic()
            if self._first_signal is not None and now - self._first_signal < SIGNAL_ECHO_SECONDS:
                return  # the same stop reaching us twice (process group and supervisor)
            self._signals += 1
            self._first_signal = self._first_signal or now
            if self._signals > 1:
                _log.warning("second signal: exiting now", signal=signal.Signals(signum).name)
                os._exit(FORCED_EXIT)
            _log.info("stopping gracefully", signal=signal.Signals(signum).name)
            self._stop.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def run(self) -> int:
        settings, runtime = self._settings, self._runtime
        # pika logs every failed connection attempt at ERROR, several lines each; Dramatiq
        # and the relay report broker outages themselves, once per attempt or round.
        logging.getLogger("pika").setLevel(logging.CRITICAL)
        runtime.start()
        metrics = process_metrics()
        watch_runtime(metrics, runtime)
        broker = self._broker(metrics)
        worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads, worker_timeout=1000)
        publisher = DramatiqPublisher(broker)
        relay = runtime.relay(publisher, holder=self.worker_id)

        def relay_step() -> bool:
            started = time.perf_counter()
            round_ = relay()
            if round_.read:
                metrics.relay_batch_seconds.observe(time.perf_counter() - started)
                metrics.events_relayed.inc(round_.published)
            if round_.stalled:
                raise DependencyUnavailable("broker")  # the loop backs off (up to 10 intervals)
            return round_.full

        started_at = runtime.platform.clock().now()

        def beat() -> bool:
            now = runtime.platform.clock().now()
            runtime.record_heartbeat(
                Heartbeat(
                    worker_id=self.worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=started_at,
                    beat_at=now,
                )
            )
            return False

        loops = [
            Loop("relay", relay_step, interval_seconds=settings.outbox_poll_ms / 1000, on_stop=relay.release),
            Loop("heartbeat", beat, interval_seconds=settings.worker_heartbeat_seconds),
        ]
        interval = settings.timer_interval_seconds
        timers = scheduler_for(runtime.use_cases, interval_seconds=interval) if interval > 0 else None
        metrics_server = None
        if settings.worker_metrics_port:
            metrics_server, _thread = serve_metrics(
                settings.worker_metrics_port + self._index, settings.host, metrics=metrics
            )
        try:
            worker.start()
            for loop in loops:
                loop.start()
            if timers is not None:
                timers.start()
            _log.info(
                "worker started",
                worker_id=self.worker_id,
                consumers=sorted(runtime.use_cases.handle_event().consumer_names),
                threads=settings.worker_threads,
            )
            while not self._stop.wait(0.5):
                pass
        finally:
            budget = float(settings.worker_shutdown_seconds)
            loops[0].stop(budget)  # the relay: finish the round, release the lease
            if timers is not None:
                timers.stop(budget)
            worker.stop(timeout=int(budget * 1000))
            publisher.close()
            loops[1].stop(5)
            broker.close()
            if metrics_server is not None:
                metrics_server.shutdown()
            runtime.stop()
            _log.info("worker stopped", worker_id=self.worker_id)
        return 0

    def _broker(self, metrics: Metrics) -> RabbitmqBroker:
        """The broker with one actor per consumer this process knows."""
        settings, use_cases = self._settings, self._runtime.use_cases
        broker = make_broker(settings.broker_url, metrics)
        declare_consumer_actors(
            broker,
            use_cases.handle_event(),
            use_cases.record_dead_letter(),
            max_retries=settings.job_max_retries,
            max_backoff_seconds=settings.job_max_backoff_seconds,
            time_limit_seconds=settings.job_time_limit_seconds,
        )
        broker.emit_after("process_boot")
        return broker
