"""The Litestar application over a gigcore Runtime.

``create_app(runtime)`` is what the CLI (``gigcore serve``) and embedders call;
``app_factory()`` is for ``uvicorn --factory entrypoints.http.app:app_factory`` and reads
the ``GIGCORE_*`` environment. Nothing here does any work at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from litestar import Litestar, Router
from litestar.concurrency import sync_to_thread
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from core.shared.actor import Actor
from entrypoints.container import Runtime, build
from entrypoints.http.auth import AuthenticationCache, BearerAuthentication, Monotonic
from entrypoints.http.controllers.contracts import ContractsController
from entrypoints.http.controllers.exports import export_journal_route
from entrypoints.http.controllers.health import Readiness, live, provide_readiness_for, readiness_checks, ready
from entrypoints.http.controllers.identity import me
from entrypoints.http.controllers.notifications import NotificationsController
from entrypoints.http.controllers.payments import PaymentsController, payments_dependencies, reconcile
from entrypoints.http.controllers.payout_destinations import (
    PayoutDestinationsController,
    payout_destinations_dependencies,
)
from entrypoints.http.controllers.payouts import PayoutsController, earnings
from entrypoints.http.controllers.snapshots import take_snapshots
from entrypoints.http.controllers.transfers import transfer
from entrypoints.http.controllers.wallets import WalletsController
from entrypoints.http.controllers.webhooks import webhooks_router
from entrypoints.http.dependencies import request_dependencies, runtime_dependencies
from entrypoints.http.errors import exception_handlers
from entrypoints.http.metrics import RequestMetrics, metrics_endpoint, provide_registry_for
from entrypoints.http.openapi import BEARER_SCHEME, openapi_config
from entrypoints.http.preconditions import check_preconditions
from entrypoints.http.request_context import run_in_request_context
from entrypoints.logging_setup import configure_logging
from entrypoints.metrics import create_metrics, watch_runtime
from entrypoints.settings import Settings
from entrypoints.timer_scheduler import scheduler_for


class GigcoreApp(Litestar):
    """Litestar, with every HTTP request served inside the request context (correlation id,
    access log). Litestar applies middleware per route, which would miss router-level
    404/405 answers; wrapping the ASGI entry point covers every request."""

    request_metrics: RequestMetrics | None = None  # set by create_app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if self.request_metrics is None:
            await run_in_request_context(scope, receive, send, super().__call__)
        else:
            await run_in_request_context(scope, receive, send, partial(self.request_metrics, app=super().__call__))


def create_app(
    runtime: Runtime, *, monotonic: Monotonic = time.monotonic, draining: threading.Event | None = None
) -> Litestar:
    """Build the HTTP API over ``runtime``; its lifespan calls ``runtime.start()`` and
    ``runtime.stop()``, and between them runs the embedded timer scheduler (every
    ``timer_interval_seconds``; 0: not at all). Does not configure logging (the process
    entry point does).
    ``monotonic`` is the clock of the authentication cache (tests pass their own).
    ``/health/ready`` answers 503 "draining" once ``draining`` is set (``gigcore serve``
    sets it on SIGTERM). ``/metrics`` serves this app's own metrics registry."""

    # The embedded default (no broker): events are handled and timers fired inside the
    # server. With a broker, `gigcore worker` does both.
    embedded = not runtime.settings.broker_url
    interval = runtime.settings.timer_interval_seconds
    timers = scheduler_for(runtime.use_cases, interval_seconds=interval) if interval > 0 and embedded else None
    events = runtime.event_dispatcher() if embedded else None

    @asynccontextmanager
    async def runtime_lifespan(_app: Litestar) -> AsyncIterator[None]:
        await sync_to_thread(runtime.start)
        if timers is not None:
            timers.start()  # durable timers fire inside the server (escrow: issue 3)
        if events is not None:
            events.start()  # committed events reach their consumers in-process (issue 4)
        try:
            yield
        finally:
            if events is not None:
                await sync_to_thread(events.stop)
            if timers is not None:
                await sync_to_thread(timers.stop)
            await sync_to_thread(runtime.stop)

    def authenticate(secret: str | None) -> Actor:
        return runtime.use_cases.authenticate_token()(secret)

    ttl = runtime.settings.auth_cache_seconds
    # One cache for the app: Litestar builds a middleware instance per route.
    auth_cache = AuthenticationCache(ttl, monotonic=monotonic) if ttl > 0 else None
    v1 = Router(
        "/v1",
        route_handlers=[
            WalletsController,
            transfer,
            take_snapshots,
            export_journal_route,
            ContractsController,
            PayoutsController,
            earnings,
            NotificationsController,
            PaymentsController,
            PayoutDestinationsController,
            reconcile,
            me,
        ],
        middleware=[DefineMiddleware(BearerAuthentication, authenticate=authenticate, cache=auth_cache)],
        before_request=check_preconditions,
        dependencies=request_dependencies(),
        security=[{BEARER_SCHEME: []}],
    )
    readiness = Readiness(readiness_checks(runtime), draining=(draining or threading.Event()).is_set)
    metrics = create_metrics()
    watch_runtime(metrics, runtime)
    app = GigcoreApp(
        # Webhooks: signed by the providers, outside the bearer authentication (issue 5).
        route_handlers=[v1, webhooks_router(runtime), live, ready, metrics_endpoint],
        dependencies={
            **runtime_dependencies(runtime),
            **payments_dependencies(runtime),
            **payout_destinations_dependencies(runtime),
            "readiness": Provide(provide_readiness_for(readiness), sync_to_thread=False),
            "metrics_registry": Provide(provide_registry_for(metrics), sync_to_thread=False),
        },
        exception_handlers=exception_handlers(max_body_bytes=runtime.settings.max_body_bytes),
        request_max_body_size=runtime.settings.max_body_bytes,
        lifespan=[runtime_lifespan],
        openapi_config=openapi_config(),
        logging_config=None,  # structlog is configured by the process (entrypoints.logging_setup)
        debug=False,
    )
    app.request_metrics = RequestMetrics(metrics)
    return app


def app_factory() -> Litestar:
    """The app for ``uvicorn --factory entrypoints.http.app:app_factory --no-access-log``:
    settings from ``GIGCORE_*``, logging configured, the production runtime built (and
    started by the app's lifespan). The app writes its own access log; uvicorn keeps its
    own log format for its ``uvicorn.*`` loggers unless started with ``log_config=None``
    (as ``gigcore serve`` does).

    Raises:
        SettingsError: a ``GIGCORE_*`` variable is malformed.
    """
    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(build(settings))
