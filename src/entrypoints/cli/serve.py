"""``gigcore serve``: the HTTP app on uvicorn (uvloop + httptools), stopped by SIGTERM/SIGINT.

Imported only when serving, so other commands never load Litestar or uvicorn.
"""

from __future__ import annotations

import gc
import importlib
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from entrypoints.cli import exit_codes
from entrypoints.container import Runtime, build
from entrypoints.settings import Settings

HTTP_APP_MODULE = "entrypoints.http.app"


def serve(settings: Settings) -> int:
    """Build and start the runtime, then serve until a signal. Returns the exit code.

    The runtime is started before the app (so the embedded SQLite default is migrated
    before the user check below); the app's lifespan start is then a no-op, and its stop
    and ours are both safe."""
    import uvicorn

    from entrypoints.logging_setup import configure_logging

    # By name: the delivery mechanisms stay independent (import-linter "delivery-independent").
    create_app = importlib.import_module(HTTP_APP_MODULE).create_app

    configure_logging(settings)
    runtime = build(settings)
    stopped_by: list[int] = []
    try:
        runtime.start()
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # collector's generations, which otherwise rescans it on every full collection
        # (measured: the balance read's p99 is set by those pauses).
        gc.collect()
        gc.freeze()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(runtime),
                host=settings.host,
                port=settings.port,
                loop="uvloop",
                http="httptools",
                lifespan="on",
                access_log=False,  # the app logs each request itself, with its correlation id
                log_config=None,  # keep what configure_logging set up
                server_header=False,
            )
        )
        _announce(runtime, settings)
        # uvicorn exits (SystemExit) when it cannot bind; it logged why.
        with _remembering_signals(stopped_by), suppress(SystemExit):
            server.run()
    finally:
        runtime.stop()
    if not server.started:
        _err(f"error: the server did not start on {_address(settings)} (the log above says why)")
        return exit_codes.UNEXPECTED
    if stopped_by:
        _err(f"gigcore: stopped by {signal.Signals(stopped_by[-1]).name}")
    return exit_codes.OK


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
