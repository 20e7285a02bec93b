"""Liveness touches nothing; readiness answers for every dependency, each within a bound."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve
from dependency_injector import providers

from core.shared.errors import DependencyUnavailable
from entrypoints.container import Runtime, build_in_memory
from entrypoints.http.controllers.health import Check, Readiness, readiness_checks
from entrypoints.http.schemas import ReadyCheck
from entrypoints.settings import Settings
from tests.unit.http.conftest import Api, serve

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_live_answers_without_authentication(api: Api) -> None:
    answer = api.client.get("/health/live")

    assert (answer.status_code, answer.json()) == (200, {"status": "live"})


def test_ready_lists_every_dependency_of_the_embedded_installation(api: Api) -> None:
    answer = api.client.get("/health/ready")

    body = answer.json()
    assert answer.status_code == 200
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "worker", "outbox"}  # no broker, no Redis configured
    assert body["checks"]["database"]["status"] == "up"
    assert body["checks"]["database"]["required"] is True
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["worker"] == {
        **body["checks"]["worker"],
        "status": "up",
        "mode": "embedded",
        "required": False,
    }
    assert body["checks"]["outbox"]["pending"] == 0
    assert body["checks"]["outbox"]["oldest_age_seconds"] is None


def test_not_ready_when_the_database_does_not_answer() -> None:
    runtime = build_in_memory()

    def refuse() -> None:
        raise ConnectionRefusedError("connection to 10.0.0.5:5432 refused")

    runtime.persistence.ping.override(providers.Object(refuse))
    with serve(runtime) as api:
        answer = api.client.get("/health/ready")
        live = api.client.get("/health/live")

    assert answer.status_code == 503
    assert answer.json()["status"] == "not_ready"
    assert answer.json()["checks"]["database"] == {
        "status": "down",
        "required": True,
        "error": "ConnectionRefusedError",
    }
    assert "10.0.0.5" not in answer.text
    assert live.status_code == 200


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


def test_not_ready_when_the_configured_broker_refuses_connections() -> None:
    settings = Settings(broker_url=f"amqp://guest:s3cret-pw@127.0.0.1:{closed_port()}/%2F")
    with serve(build_in_memory(settings)) as api:
        answer = api.client.get("/health/ready")

    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["broker"] == {"status": "down", "required": True, "error": "dependency_unavailable"}
    assert body["checks"]["database"]["status"] == "up"
    assert "s3cret" not in answer.text and "amqp" not in answer.text


def test_not_ready_when_the_configured_redis_refuses_connections() -> None:
    settings = Settings(redis_url=f"redis://:s3cret-pw@127.0.0.1:{closed_port()}/0")
    with serve(build_in_memory(settings)) as api:
        answer = api.client.get("/health/ready")

    assert answer.status_code == 503
    assert answer.json()["checks"]["redis"]["status"] == "down"
    assert "s3cret" not in answer.text


def test_ready_answers_within_the_bound_when_broker_and_redis_hang() -> None:
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        settings = Settings(broker_url=f"amqp://guest:guest@127.0.0.1:{port}/", redis_url=f"redis://127.0.0.1:{port}/0")
        with serve(build_in_memory(settings)) as api:
            began = time.monotonic()
            answer = api.client.get("/health/ready")
            took = time.monotonic() - began

    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert (checks["broker"]["status"], checks["redis"]["status"], checks["database"]["status"]) == (
        "down",
        "down",
        "up",
    )
    assert took < 2.5


def _service_or_skip(host: str, port: int, what: str) -> None:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as error:
        reason = f"{what} at {host}:{port} is unreachable: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def test_ready_when_the_real_broker_and_redis_answer() -> None:
    _service_or_skip("127.0.0.1", 5672, "RabbitMQ")
    _service_or_skip("127.0.0.1", 6379, "Redis")
    settings = Settings(broker_url="amqp://guest:guest@127.0.0.1:5672/%2F", redis_url="redis://127.0.0.1:6379/0")
    with serve(build_in_memory(settings)) as api:
        answer = api.client.get("/health/ready")

    checks = answer.json()["checks"]
    assert (checks["broker"]["status"], checks["broker"]["required"]) == ("up", True)
    assert (checks["redis"]["status"], checks["redis"]["required"]) == ("up", True)
    # With a broker the worker runs elsewhere; none has recorded a heartbeat here.
    assert checks["worker"] == {**checks["worker"], "status": "stale", "mode": "broker", "age_seconds": None}
    assert answer.status_code == 200  # the worker informs; it is not required


# ---- the readiness evaluation, over fake checks -----------------------------------------


def evaluate(readiness: Readiness) -> tuple[dict[str, object], int]:
    answer, status = asyncio.run(readiness.evaluate())
    return {name: check.status for name, check in answer.checks.items()} | {"": answer.status}, status


def up() -> ReadyCheck:
    return ReadyCheck(status="up", required=True)


def down() -> ReadyCheck:
    raise DependencyUnavailable("broker")


def test_a_required_check_down_makes_it_not_ready() -> None:
    readiness = Readiness([Check("database", True, up), Check("broker", True, down)])

    assert evaluate(readiness) == ({"database": "up", "broker": "down", "": "not_ready"}, 503)


def test_an_informational_check_down_leaves_it_ready() -> None:
    readiness = Readiness([Check("database", True, up), Check("outbox", False, down)])

    assert evaluate(readiness) == ({"database": "up", "outbox": "down", "": "ready"}, 200)


def test_draining_answers_503_even_when_everything_is_up() -> None:
    draining = threading.Event()
    readiness = Readiness([Check("database", True, up)], draining=draining.is_set)
    assert evaluate(readiness)[1] == 200

    draining.set()

    assert evaluate(readiness) == ({"database": "up", "": "draining"}, 503)


def test_a_hanging_check_is_down_within_the_bound_and_not_started_twice() -> None:
    release = threading.Event()
    started: list[float] = []

    def hang() -> ReadyCheck:
        started.append(time.monotonic())
        release.wait(30)
        return up()

    readiness = Readiness([Check("database", True, up), Check("broker", True, hang)], timeout_seconds=0.3)
    try:
        began = time.monotonic()
        first = evaluate(readiness)
        second = evaluate(readiness)
        took = time.monotonic() - began
    finally:
        release.set()

    assert first == second == ({"database": "up", "broker": "down", "": "not_ready"}, 503)
    assert took < 2.0
    assert len(started) == 1  # the second probe waited for the running check


def test_a_timed_out_check_says_so() -> None:
    release = threading.Event()
    readiness = Readiness([Check("redis", True, lambda: (release.wait(30), up())[1])], timeout_seconds=0.1)
    try:
        answer, _ = asyncio.run(readiness.evaluate())
    finally:
        release.set()

    assert answer.checks["redis"] == ReadyCheck(status="down", required=True, error="timeout")


# ---- the worker and outbox checks -------------------------------------------------------


def checks_of(runtime: Runtime) -> dict[str, ReadyCheck]:
    answer, _ = asyncio.run(Readiness(readiness_checks(runtime, now=lambda: NOW)).evaluate())
    return dict(answer.checks)


def with_broker(heartbeat_seconds: int = 5) -> Runtime:
    # The broker check itself is left out here: only the worker's is looked at.
    settings = evolve(Settings(), broker_url="amqp://127.0.0.1:1/", worker_heartbeat_seconds=heartbeat_seconds)
    return build_in_memory(settings)


def test_a_recent_worker_heartbeat_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Runtime, "last_worker_heartbeat", lambda _self: NOW - timedelta(seconds=4))

    worker = checks_of(with_broker(heartbeat_seconds=5))["worker"]

    assert (worker.status, worker.mode, worker.age_seconds, worker.required) == ("up", "broker", 4.0, False)


def test_a_heartbeat_older_than_three_intervals_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Runtime, "last_worker_heartbeat", lambda _self: NOW - timedelta(seconds=16))

    worker = checks_of(with_broker(heartbeat_seconds=5))["worker"]

    assert (worker.status, worker.age_seconds) == ("stale", 16.0)


def test_the_outbox_check_reports_size_and_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Runtime, "outbox_stats", lambda _self: (42, NOW - timedelta(seconds=90)))

    outbox = checks_of(build_in_memory())["outbox"]

    assert (outbox.status, outbox.pending, outbox.oldest_age_seconds, outbox.required) == ("up", 42, 90.0, False)
