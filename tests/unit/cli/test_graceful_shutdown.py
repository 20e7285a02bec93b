"""``gigcore serve`` drains before it stops: readiness 503 at once, in-flight requests finish.

The server class is tested alone with a fake clock; the whole sequence with a real
``gigcore serve`` process on SQLite, a request left half-sent across the SIGTERM, and a
bound on how long the process takes to exit.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import uvicorn

from core.identity.use_cases.create_user import CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand
from core.shared.actor import Actor, Persona
from core.shared.ids import correlation_id, idempotency_key
from entrypoints.cli.serve import DrainingServer
from entrypoints.container import build
from entrypoints.settings import Settings
from tests.unit.cli.test_process import environment, free_port, gigcore, wait_for_liveness

DRAIN_S = 2
EXIT_LIMIT_S = 15.0  # drain + graceful shutdown + lifespan, generous for a loaded CI machine


# ---- the server class, with a fake clock ------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _no_app(scope: Any, receive: Any, send: Any) -> None:  # never called: nothing is served
    raise AssertionError("unexpected request")


def draining_server(drain_seconds: float) -> tuple[DrainingServer, threading.Event, FakeClock]:
    draining, clock = threading.Event(), FakeClock()
    # log_config=None, as `gigcore serve` does: the default would rewire the uvicorn loggers
    # for every later test in this process.
    config = uvicorn.Config(_no_app, lifespan="off", timeout_graceful_shutdown=5, log_config=None)
    server = DrainingServer(config, draining=draining, drain_seconds=drain_seconds, monotonic=clock)
    return server, draining, clock


def tick(server: DrainingServer) -> bool:
    import asyncio

    return asyncio.run(server.on_tick(1))


def test_the_first_signal_drains_and_exits_after_the_drain() -> None:
    server, draining, clock = draining_server(drain_seconds=2)

    server.handle_exit(signal.SIGTERM, None)

    assert draining.is_set()
    assert tick(server) is False  # still serving during the drain
    clock.now += 1.9
    assert tick(server) is False
    clock.now += 0.2
    assert tick(server) is True  # uvicorn's graceful shutdown begins
    assert (server.should_exit, server.force_exit) == (True, False)


def test_a_drain_of_zero_shuts_down_at_once() -> None:
    server, draining, _clock = draining_server(drain_seconds=0)

    server.handle_exit(signal.SIGINT, None)

    assert draining.is_set() and server.should_exit and not server.force_exit


def test_a_second_signal_forces_the_exit() -> None:
    server, _draining, _clock = draining_server(drain_seconds=30)
    server.handle_exit(signal.SIGTERM, None)

    server.handle_exit(signal.SIGTERM, None)

    assert (server.should_exit, server.force_exit) == (True, True)
    assert tick(server) is True


# ---- the real process ----------------------------------------------------------------------


def issue_token(database_url: str) -> str:
    """A user and an API token in the SQLite file the server will use (migrated here)."""
    runtime = build(Settings(database_url=database_url))
    runtime.start()
    try:
        system = Actor.system("test")
        user = runtime.use_cases.create_user()(
            CreateUserCommand(
                by=system,
                idempotency_key=idempotency_key("drain-user-0001"),
                correlation_id=correlation_id(None),
                handle="drainer",
                display_name="Drainer",
                personas=frozenset({Persona.CLIENT}),
            )
        )
        issued = runtime.use_cases.issue_api_token()(
            IssueApiTokenCommand(
                by=system,
                idempotency_key=idempotency_key("drain-token-0001"),
                correlation_id=correlation_id(None),
                user=user.user_id,
            )
        )
    finally:
        runtime.stop()
    assert issued.token is not None
    return issued.token


def get(url: str) -> tuple[int | None, dict[str, Any] | None]:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None, None


def wait_until_refused(port: int, server: subprocess.Popen[bytes], limit_s: float = 10.0) -> float | None:
    """When (``time.monotonic()``) the server stopped accepting connections (None: it did not)."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return time.monotonic()
        except OSError:
            pass
        time.sleep(0.05)
    return None


def read_response(conn: socket.socket) -> bytes:
    conn.settimeout(10)
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def test_sigterm_drains_readiness_finishes_the_request_in_flight_and_exits_0(tmp_path: Path) -> None:
    env = environment(tmp_path)
    token = issue_token(env["GIGCORE_DATABASE_URL"])
    env |= {"GIGCORE_DRAIN_SECONDS": str(DRAIN_S), "GIGCORE_SHUTDOWN_TIMEOUT_SECONDS": "10"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [*gigcore(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            assert wait_for_liveness(f"{base}/health/live", server) == 200, log.read_text()
            assert get(f"{base}/health/ready")[0] == 200, log.read_text()

            # A request in flight: headers sent, the body only half.
            body = json.dumps({"currency": "EUR"}).encode()
            in_flight = socket.create_connection(("127.0.0.1", port), timeout=10)
            in_flight.sendall(
                b"POST /v1/wallets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {token}\r\nIdempotency-Key: drain-wallet-0001\r\n".encode()
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body[:5]
            )
            time.sleep(0.3)  # the server has the headers and waits for the rest

            signalled = time.monotonic()
            server.send_signal(signal.SIGTERM)
            ready_during_drain = None
            while time.monotonic() - signalled < DRAIN_S - 0.5:
                status, answer = get(f"{base}/health/ready")
                if status == 503:
                    ready_during_drain = (status, answer)
                    break
                time.sleep(0.05)
            live_during_drain = get(f"{base}/health/live")[0]

            closed_at = wait_until_refused(port, server)  # the drain is over: shutting down
            assert server.poll() is None, "the server must wait for the request in flight"
            in_flight.sendall(body[5:])
            response = read_response(in_flight)
            in_flight.close()

            returncode = server.wait(timeout=EXIT_LIMIT_S)
            exited_after = time.monotonic() - signalled
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    said = log.read_text()

    assert ready_during_drain is not None, said
    assert closed_at is not None, said
    assert closed_at - signalled >= DRAIN_S - 0.2  # it kept accepting for the whole drain
    assert ready_during_drain[1] is not None and ready_during_drain[1]["status"] == "draining"
    assert live_during_drain == 200  # still serving while draining
    assert response.startswith(b"HTTP/1.1 201"), (response[:300], said)
    assert returncode == 0, said
    assert exited_after < EXIT_LIMIT_S
    assert "stopped by SIGTERM" in said
