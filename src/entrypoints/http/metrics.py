"""The API's Prometheus metrics: per-request counts and latencies, and ``/metrics``.

Requests are labelled by route template (``/v1/wallets/{wallet_id}/balance``, as Litestar
matched it), never the raw path, so ids in URLs cannot explode the series; requests no
route matched (404, 405) share the label ``unmatched``, and methods outside the usual
ones ``OTHER``. Recording costs a dictionary lookup, a counter increment and a histogram
observation per request: the labelled children are cached per label set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from entrypoints.metrics import Metrics

UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MAX_CACHED_LABEL_SETS = 4096  # routes, methods and statuses combined stay far below this


class RequestMetrics:
    """Wraps the ASGI app of one HTTP request and records it in ``metrics``."""

    def __init__(self, metrics: Metrics) -> None:
        self._requests = metrics.http_requests
        self._seconds = metrics.http_request_seconds
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before it starts a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, send_noting_status)
        finally:
            self.record(scope, status, time.perf_counter() - started)

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("path_template") or UNMATCHED_ROUTE  # set by Litestar's router on a match
        method = scope.get("method", "")
        if method not in _METHODS:
            method = "OTHER"
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (self._requests.labels(route, method, str(status)), self._seconds.labels(route, method))
            if len(self._children) < _MAX_CACHED_LABEL_SETS:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


@get("/metrics", sync_to_thread=True, include_in_schema=False)
def metrics_endpoint(metrics_registry: NamedDependency[CollectorRegistry]) -> Response[bytes]:
    """Prometheus's text exposition of this app's registry. No authentication, like the
    health probes: it carries counts and timings, never ids, amounts or secrets. Runs on a
    thread: the outbox and dead-letter gauges query the database at scrape time."""
    # As the header says: Litestar would append a second charset to a text/ media type.
    return Response(
        generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST, headers={"content-type": CONTENT_TYPE_LATEST}
    )


def provide_registry_for(metrics: Metrics) -> Callable[[], CollectorRegistry]:
    """A named Litestar provider handing out ``metrics``' registry."""

    def provide_metrics_registry() -> CollectorRegistry:
        return metrics.registry

    return provide_metrics_registry
