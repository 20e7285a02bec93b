"""``gigcore serve``: the HTTP app on uvicorn (uvloop + httptools), stopped by SIGTERM/SIGINT.

Shutdown, on the first SIGTERM or SIGINT: ``/health/ready`` answers 503 "draining" at
once while the server keeps serving for ``GIGCORE_DRAIN_SECONDS`` (load balancers notice
and stop sending); then uvicorn's graceful shutdown stops accepting connections and lets
in-flight requests finish within ``GIGCORE_SHUTDOWN_TIMEOUT_SECONDS``; then the app's
lifespan stops the timer scheduler and the runtime (engine pool disposed), and the logs
are flushed. A second signal cuts the drain and the wait short (forced exit, still 0).

Imported only when serving, so other commands never load Litestar or uvicorn.
"""

from __future__ import annotations

import gc
import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

import structlog
import uvicorn

from entrypoints.cli import exit_codes
from entrypoints.container import Runtime, build
from entrypoints.settings import Settings

HTTP_APP_MODULE = "entrypoints.http.app"

_log = structlog.get_logger("gigcore.serve")


def serve(settings: Settings) -> int:
    """Build and start the runtime, then serve until a signal. Returns the exit code.

    The runtime is started before the app (so the embedded SQLite default is migrated
    before the user check below); the app's lifespan start is then a no-op, and its stop
    and ours are both safe."""
    from entrypoints.logging_setup import configure_logging

    # By name: the delivery mechanisms stay independent (import-linter "delivery-independent").
    create_app = importlib.import_module(HTTP_APP_MODULE).create_app

    configure_logging(settings)
    runtime = build(settings)
    stopped_by: list[int] = []
    draining = threading.Event()
    try:
        runtime.start()
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's generations, which otherwise rescans it on every full collection
        # (measured: the balance read's p99 is set by those pauses).
        gc.collect()
        gc.freeze()
        server = DrainingServer(
            uvicorn.Config(
                create_app(runtime, draining=draining),
                host=settings.host,
                port=settings.port,
                loop="uvloop",
                http="httptools",
                lifespan="on",
                access_log=False,  # the app logs each request itself, with its correlation id
                log_config=None,  # keep what configure_logging set up
                server_header=False,
                timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            ),
            draining=draining,
            drain_seconds=settings.drain_seconds,
        )
        _announce(runtime, settings)
        # uvicorn exits (SystemExit) when it cannot bind; it logged why.
        with _remembering_signals(stopped_by), suppress(SystemExit):
            server.run()
    finally:
        runtime.stop()
        _flush_logs()
    if not server.started:
        _err(f"error: the server did not start on {_address(settings)} (the log above says why)")
        return exit_codes.UNEXPECTED
    if stopped_by:
        _err(f"gigcore: stopped by {signal.Signals(stopped_by[-1]).name}")
    return exit_codes.OK


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain before its graceful shutdown.

    uvicorn calls ``handle_exit`` for SIGTERM/SIGINT (its documented override point) and
    polls ``should_exit`` every 0.1 s in ``on_tick``. The first signal sets ``draining``
    (readiness turns 503) and schedules the exit ``drain_seconds`` later; only then is it
    handed to uvicorn, which stops accepting, waits for in-flight requests (at most
    ``timeout_graceful_shutdown``) and runs the lifespan shutdown. A second signal forces
    the exit: no more drain, no more waiting for requests.

    Nothing here logs or locks inside the signal handler itself; ``on_tick`` reports."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        draining: threading.Event,
        drain_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config)
        self.draining = draining
        self._drain_seconds = drain_seconds
        self._monotonic = monotonic
        self._exit_at: float | None = None
        self._pending_signal: int | None = None
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.draining.is_set():  # the second signal: stop now
            super().handle_exit(sig, frame)
            self.should_exit = True
            self.force_exit = True
            return
        self.draining.set()
        if self._drain_seconds <= 0:
            super().handle_exit(sig, frame)
            return
        self._pending_signal = sig
        self._exit_at = self._monotonic() + self._drain_seconds

    async def on_tick(self, counter: int) -> bool:
        if self.draining.is_set() and not self._announced:
            self._announced = True
            _log.info(
                "draining: readiness answers 503; shutting down after the drain",
                drain_seconds=self._drain_seconds,
                shutdown_timeout_seconds=self.config.timeout_graceful_shutdown,
            )
        if self._exit_at is not None and self._pending_signal is not None and self._monotonic() >= self._exit_at:
            sig, self._pending_signal = self._pending_signal, None
            super().handle_exit(sig, None)  # uvicorn's graceful shutdown, remembering the signal
        return await super().on_tick(counter)


def _flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        with suppress(Exception):  # a closed stream must not turn a clean stop into a crash
            handler.flush()


def _announce(runtime: Runtime, settings: Settings) -> None:
    _err(f"gigcore: serving on {_address(settings)} (liveness: {_address(settings)}/health/live)")
    try:
        users = _any_user(runtime)
    except Exception as error:  # the hint is a courtesy; readiness reports a real fault
        _err(f"gigcore: could not check for users ({type(error).__name__}: {error})")
        return
    if not users:
        _err("No user exists yet. To get an API token:")
        _err("  gigcore users create alice --name Alice --persona client")
        _err("  gigcore tokens issue alice")
        _err("then send it with every request as the header  Authorization: Bearer <token>")


def _any_user(runtime: Runtime) -> bool:
    with runtime.new_unit_of_work() as uow:
        return bool(uow.users.any_exist())


@contextmanager
def _remembering_signals(into: list[int]) -> Iterator[None]:
    """Let uvicorn handle SIGTERM/SIGINT (graceful shutdown), then only remember them.

    uvicorn restores the handlers it found and re-raises the signal after shutting down;
    with the default handlers the process would die right there, before ``runtime.stop()``."""

    def remember(sig: int, _frame: FrameType | None) -> None:
        into.append(sig)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _address(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
