"""Liveness and readiness probes. No authentication.

Liveness touches nothing. Readiness runs one check per dependency (database; the broker
and Redis when configured; the worker's heartbeat and the outbox's lag, which inform but
never fail it) on threads of their own, all at once, and answers within
``CHECK_TIMEOUT_SECONDS`` even when a dependency hangs: a check that has not answered by
then is down ("timeout"). A check still running from an earlier probe is waited for, not
started again, so a hanging dependency holds one thread per check, not one per probe.

The answer names each check's status, never an address, URL or error message (those go
to the log): 200 when every required check is up, else 503; 503 "draining" once the
server is shutting down (``gigcore serve`` sets ``draining`` on SIGTERM), so load
balancers stop sending before it stops accepting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from attrs import evolve, frozen
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from entrypoints.container import Runtime
from entrypoints.http.schemas import LiveResponse, ReadyCheck, ReadyResponse

CHECK_TIMEOUT_SECONDS = 1.0
STALE_HEARTBEATS = 3  # a worker is stale after this many missed heartbeats

_log = structlog.get_logger("gigcore.http")


@frozen
class Check:
    """One readiness check. ``probe`` runs on a thread; it returns the check's result
    (without ``required`` and ``latency_ms``, filled in here) or raises when the
    dependency is down."""

    name: str
    required: bool
    probe: Callable[[], ReadyCheck]


def _up() -> ReadyCheck:
    return ReadyCheck(status="up", required=True)


class Readiness:
    """Runs ``checks`` concurrently, each bounded by ``timeout_seconds``."""

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        draining: Callable[[], bool] = lambda: False,
        timeout_seconds: float = CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self._checks = tuple(checks)
        self._draining = draining
        self._timeout = timeout_seconds
        self._running: dict[str, concurrent.futures.Future[ReadyCheck]] = {}  # touched on the event loop only

    @property
    def check_names(self) -> tuple[str, ...]:
        return tuple(check.name for check in self._checks)

    async def evaluate(self) -> tuple[ReadyResponse, int]:
        """The answer and its HTTP status (200 or 503)."""
        waiting = {check.name: asyncio.wrap_future(self._start(check)) for check in self._checks}
        if waiting:
            await asyncio.wait(waiting.values(), timeout=self._timeout)
        results = {check.name: self._result(check, waiting[check.name]) for check in self._checks}
        if self._draining():
            status = "draining"
        elif all(result.status == "up" for result in results.values() if result.required):
            status = "ready"
        else:
            status = "not_ready"
        return ReadyResponse(status=status, checks=results), 200 if status == "ready" else 503

    def _start(self, check: Check) -> concurrent.futures.Future[ReadyCheck]:
        running = self._running.get(check.name)
        if running is not None and not running.done():
            return running
        future: concurrent.futures.Future[ReadyCheck] = concurrent.futures.Future()

        def run() -> None:
            future.set_running_or_notify_cancel()
            started = time.perf_counter()
            try:
                result = check.probe()
            except BaseException as error:  # reported as down by _result
                future.set_exception(error)
            else:
                latency = round((time.perf_counter() - started) * 1000, 1)
                future.set_result(evolve(result, required=check.required, latency_ms=latency))

        # A daemon thread, not a pool's: a probe hung in a socket must not hold up exit.
        threading.Thread(target=run, name=f"gigcore-ready-{check.name}", daemon=True).start()
        self._running[check.name] = future
        return future

    def _result(self, check: Check, waited: asyncio.Future[ReadyCheck]) -> ReadyCheck:
        if not waited.done():
            waited.cancel()  # stops waiting only; the check's thread finishes on its own
            _log.warning("readiness_check_failed", check=check.name, error_type="timeout")
            return ReadyCheck(status="down", required=check.required, error="timeout")
        error = waited.exception()
        if error is None:
            return waited.result()
        cause = error.__cause__ or error
        _log.warning(
            "readiness_check_failed",
            check=check.name,
            error_type=type(cause).__name__,
            error=str(cause)[:300],
        )
        return ReadyCheck(status="down", required=check.required, error=_error_kind(error))


def _error_kind(error: BaseException) -> str:
    """A label for the answer: the error's stable code when it has one, else its class."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else type(error).__name__


def readiness_checks(
    runtime: Runtime,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    timeout_seconds: float = CHECK_TIMEOUT_SECONDS,
) -> list[Check]:
    """The checks for ``runtime``'s settings: the database always; the broker and Redis
    when configured (then required); the worker heartbeat and the outbox (informational)."""
    settings = runtime.settings

    def database() -> ReadyCheck:
        runtime.ping_database()
        return _up()

    checks = [Check("database", True, database)]
    # The probes are imported here, at app build, and only when configured: the embedded
    # default never loads pika or redis, and no probe's first run pays for an import.
    if settings.broker_url:
        from adapters.messaging.probe import probe_rabbitmq

        broker_url = settings.broker_url

        def broker() -> ReadyCheck:
            probe_rabbitmq(broker_url, timeout_seconds=timeout_seconds)
            return _up()

        checks.append(Check("broker", True, broker))
    if settings.redis_url:
        from adapters.redis_probe import probe_redis

        redis_url = settings.redis_url

        def redis() -> ReadyCheck:
            probe_redis(redis_url, timeout_seconds=timeout_seconds)
            return _up()

        checks.append(Check("redis", True, redis))

    stale_after = STALE_HEARTBEATS * settings.worker_heartbeat_seconds
    with_broker = bool(settings.broker_url)

    def worker() -> ReadyCheck:
        if not with_broker:  # events and timers are handled inside this process
            return ReadyCheck(status="up", required=False, mode="embedded")
        age = _age_seconds(runtime.last_worker_heartbeat(), now())
        status = "up" if age is not None and age <= stale_after else "stale"
        return ReadyCheck(status=status, required=False, mode="broker", age_seconds=age)

    def outbox() -> ReadyCheck:
        pending, oldest = runtime.outbox_stats()
        return ReadyCheck(status="up", required=False, pending=pending, oldest_age_seconds=_age_seconds(oldest, now()))

    checks.append(Check("worker", False, worker))
    checks.append(Check("outbox", False, outbox))
    return checks


def _age_seconds(then: datetime | None, now: datetime) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:  # SQLite hands back naive times; gigcore stores UTC
        then = then.replace(tzinfo=UTC)
    return round(max(0.0, (now - then).total_seconds()), 1)


@get("/health/live", operation_id="live", tags=["health"])
async def live() -> LiveResponse:
    """The process is up and serving; touches nothing."""
    return LiveResponse(status="live")


@get(
    "/health/ready",
    operation_id="ready",
    tags=["health"],
    responses={
        503: ResponseSpec(
            data_container=ReadyResponse, description="A required dependency is down, or the server is draining"
        )
    },
)
async def ready(readiness: NamedDependency[Readiness]) -> Response[ReadyResponse]:
    """Ready to serve: every required dependency answers (database; broker and Redis when
    configured), each within about a second. The worker heartbeat and outbox lag are
    reported but never make this 503. 503 while the server drains before shutting down."""
    answer, status_code = await readiness.evaluate()
    return Response(answer, status_code=status_code)


def provide_readiness_for(readiness: Readiness) -> Callable[[], Readiness]:
    """A named Litestar provider handing out ``readiness``."""

    def provide_readiness() -> Readiness:
        return readiness

    return provide_readiness
