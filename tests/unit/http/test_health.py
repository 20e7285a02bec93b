"""Liveness touches nothing; readiness answers for the database."""

from __future__ import annotations

from dependency_injector import providers

from entrypoints.container import build_in_memory
from tests.unit.http.conftest import Api, serve


def test_live_answers_without_authentication(api: Api) -> None:
    answer = api.client.get("/health/live")

    assert (answer.status_code, answer.json()) == (200, {"status": "live"})


def test_ready_when_the_database_answers(api: Api) -> None:
    answer = api.client.get("/health/ready")

    assert (answer.status_code, answer.json()) == (200, {"status": "ready", "checks": {"database": "ok"}})


def test_not_ready_when_the_database_does_not_answer() -> None:
    runtime = build_in_memory()

    def refuse() -> None:
        raise ConnectionRefusedError("connection to 10.0.0.5:5432 refused")

    runtime.persistence.ping.override(providers.Object(refuse))
    with serve(runtime) as api:
        answer = api.client.get("/health/ready")
        live = api.client.get("/health/live")

    assert answer.status_code == 503
    assert answer.json() == {"status": "not_ready", "checks": {"database": "down"}}
    assert "10.0.0.5" not in answer.text
    assert live.status_code == 200
