"""Prometheus metrics of gigcore's processes: the HTTP API and the worker.

``create_metrics()`` builds every metric on a registry of its own (never
prometheus_client's global default), so two runtimes or two tests in one process never
collide and nothing is built at import time. The HTTP app creates one per app and serves
it at ``/metrics``; the worker creates one per process and serves it with
``serve_metrics(port, host)``.

Gauges that describe the installation rather than the process (outbox size and lag,
dead letters) are read at scrape time through ``watch_runtime`` from the
``Runtime``, so they are as fresh as the scrape and cost nothing between scrapes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol
from wsgiref.simple_server import WSGIServer

import structlog
from attrs import frozen
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# Seconds. HTTP answers are milliseconds; jobs may take up to their time limit.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

_log = structlog.get_logger("gigcore.metrics")


class InstallationStats(Protocol):
    """What the scrape-time gauges read (``entrypoints.container.Runtime`` has these)."""

    def outbox_stats(self) -> tuple[int, datetime | None]: ...

    def dead_letter_count(self) -> int: ...


@frozen
class Metrics:
    """Every metric of a gigcore process, on ``registry``.

    HTTP (the API): ``http_requests`` (route, method, status) and ``http_request_seconds``
    (route, method). ``route`` is the route template (``/v1/wallets/{wallet_id}/balance``),
    never the raw path; unmatched requests share one label.

    Worker: ``jobs`` (actor, outcome), ``job_seconds`` (actor), ``job_retries`` (actor),
    ``dead_letters_total`` (actor), ``events_relayed``, ``relay_batch_seconds``.
    """

    registry: CollectorRegistry
    http_requests: Counter
    http_request_seconds: Histogram
    jobs: Counter
    job_seconds: Histogram
    job_retries: Counter
    dead_letters_total: Counter
    events_relayed: Counter
    relay_batch_seconds: Histogram


def create_metrics(registry: CollectorRegistry | None = None) -> Metrics:
    """Every gigcore metric, registered on ``registry`` (a fresh one when omitted)."""
    registry = registry if registry is not None else CollectorRegistry()
    return Metrics(
        registry=registry,
        http_requests=Counter(
            "gigcore_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=registry,
        ),
        http_request_seconds=Histogram(
            "gigcore_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ("route", "method"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        ),
        jobs=Counter(
            "gigcore_jobs",
            "Jobs (actor messages) processed, by actor and outcome (ok, retry, failed, dead).",
            ("actor", "outcome"),
            registry=registry,
        ),
        job_seconds=Histogram(
            "gigcore_job_duration_seconds",
            "Time an actor took to process one message.",
            ("actor",),
            buckets=JOB_BUCKETS,
            registry=registry,
        ),
        job_retries=Counter("gigcore_job_retries", "Messages scheduled for a retry.", ("actor",), registry=registry),
        dead_letters_total=Counter(
            "gigcore_dead_letters", "Messages sent to the dead-letter queue.", ("actor",), registry=registry
        ),
        events_relayed=Counter(
            "gigcore_outbox_events_relayed", "Outbox events published and confirmed by the broker.", registry=registry
        ),
        relay_batch_seconds=Histogram(
            "gigcore_outbox_relay_batch_duration_seconds",
            "Time to publish one outbox batch, confirms included.",
            buckets=JOB_BUCKETS,
            registry=registry,
        ),
    )


class InstallationCollector(Collector):
    """Outbox size and lag and the dead-letter count, read from ``stats`` at each scrape.

    A failed read is logged and the gauge left out of that scrape (a missing series
    alerts; a made-up zero would not)."""

    def __init__(self, stats: InstallationStats, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._stats = stats
        self._now = now

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        pending, oldest, dead = self._families()
        try:
            count, oldest_at = self._stats.outbox_stats()
        except Exception as error:  # the scrape goes on without these gauges
            _log.warning("metrics_read_failed", what="outbox_stats", error_type=type(error).__name__)
        else:
            pending.add_metric([], count)
            oldest.add_metric([], _age_seconds(oldest_at, self._now()))
            yield pending
            yield oldest
        try:
            dead.add_metric([], self._stats.dead_letter_count())
        except Exception as error:
            _log.warning("metrics_read_failed", what="dead_letter_count", error_type=type(error).__name__)
        else:
            yield dead

    @staticmethod
    def _families() -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("gigcore_outbox_pending", "Outbox events not yet published.")
        yield GaugeMetricFamily(
            "gigcore_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox event (0 when none waits).",
        )
        yield GaugeMetricFamily("gigcore_dead_letters_pending", "Messages dead-lettered (failed for good).")


def _age_seconds(then: datetime | None, now: datetime) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # a naive time from SQLite is UTC
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


def watch_runtime(metrics: Metrics, stats: InstallationStats) -> None:
    """Read the installation gauges from ``stats`` (the Runtime) at every scrape."""
    metrics.registry.register(InstallationCollector(stats))


@functools.cache
def process_metrics() -> Metrics:
    """The metrics of this process, created at first use (the worker's). The HTTP app
    creates its own per app instead, so apps built in one process (tests) stay apart."""
    return create_metrics()


def __getattr__(name: str) -> Any:
    """``from entrypoints.metrics import JOBS`` (and the other worker metrics by their
    upper-case names): this process's metric, created at first use, not at import."""
    if name in _PROCESS_METRIC_NAMES:
        return getattr(process_metrics(), _PROCESS_METRIC_NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PROCESS_METRIC_NAMES = {
    "JOBS": "jobs",
    "JOB_DURATION": "job_seconds",
    "JOB_RETRIES": "job_retries",
    "DEAD_LETTERS_TOTAL": "dead_letters_total",
    "EVENTS_RELAYED": "events_relayed",
    "RELAY_BATCH_SECONDS": "relay_batch_seconds",
}


def serve_metrics(
    port: int, host: str = "127.0.0.1", *, metrics: Metrics | None = None
) -> tuple[WSGIServer, threading.Thread]:
    """Serve ``metrics`` (this process's by default) in Prometheus's text format on
    ``host:port`` from a daemon thread: for the worker, which has no HTTP app. Returns the
    server (``shutdown()`` stops it) and its thread.

    Raises:
        OSError: the port cannot be bound.
    """
    registry = (metrics if metrics is not None else process_metrics()).registry
    server, thread = start_http_server(port, addr=host, registry=registry)
    return server, thread
