"""The installed ``gigcore`` console script, run as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.identity.use_cases.create_user import CreateUserCommand
from core.shared.actor import Actor, Persona
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.cli import serve
from entrypoints.container import Runtime, build_in_memory

STARTUP_LIMIT_S = 20.0  # generous bounds for a slow CI machine; the test asserts no timing
SHUTDOWN_LIMIT_S = 10.0


def gigcore() -> list[str]:
    script = Path(sys.executable).with_name("gigcore")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from entrypoints.cli.main import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCORE_")}
    env["GIGCORE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    return env


def test_help_lists_the_commands_and_exit_codes(tmp_path: Path) -> None:
    done = subprocess.run(
        [*gigcore(), "--help"], env=environment(tmp_path), capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    for word in ("serve", "migrate", "users", "tokens", "audit", "run", "Exit codes"):
        assert word in done.stdout


def test_serve_answers_liveness_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [*gigcore(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            status = wait_for_liveness(f"http://127.0.0.1:{port}/health/live", server)
            server.send_signal(signal.SIGTERM)
            returncode = server.wait(timeout=SHUTDOWN_LIMIT_S)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    said = log.read_text()

    assert status == 200, said
    assert returncode == 0, said
    assert f"serving on http://127.0.0.1:{port}" in said
    assert "gigcore users create alice --name Alice --persona client" in said
    assert "gigcore tokens issue alice" in said
    assert "stopped by SIGTERM" in said


def wait_for_liveness(url: str, server: subprocess.Popen[bytes]) -> int | None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return int(answer.status)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    return None


def create_user(runtime: Runtime, handle: str, *personas: Persona) -> None:
    runtime.use_cases.create_user()(
        CreateUserCommand(
            by=Actor.system("test"),
            idempotency_key=IdempotencyKey(f"create-{handle}"),
            correlation_id=CorrelationId("test"),
            handle=handle,
            display_name=handle.title(),
            personas=frozenset(personas),
        )
    )


def test_the_token_hint_is_for_an_installation_without_users() -> None:
    runtime = build_in_memory()
    runtime.start()
    assert serve._any_user(runtime) is False

    create_user(runtime, "alice", Persona.CLIENT)

    assert serve._any_user(runtime) is True


def test_a_refused_user_creation_leaves_the_installation_without_users() -> None:
    runtime = build_in_memory()
    runtime.start()
    with pytest.raises(InvalidInput):
        create_user(runtime, "mixed", Persona.ADMIN, Persona.CLIENT)  # refused, and audited as rejected

    assert serve._any_user(runtime) is False
