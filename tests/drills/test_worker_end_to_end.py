"""Drill a: events produced through the HTTP API are handled exactly once by
``gigcore worker`` on PostgreSQL and RabbitMQ, and the worker stops cleanly on SIGTERM."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import Engine

from entrypoints.container import build
from entrypoints.http.app import create_app
from tests.drills.conftest import AUDITOR, producer_settings
from tests.support.checks import assert_handled_exactly_once, assert_ledger_consistent, audited, pending
from tests.support.services import gigcore_env, running_worker, wait_until
from tests.unit.http.conftest import Api

DEPOSITS = 60


def test_events_from_the_api_are_handled_once_by_the_worker(
    database_url: str, broker_url: str, db: Engine, tmp_path: Path
) -> None:
    runtime = build(producer_settings(database_url, broker_url))
    env = gigcore_env(database_url, broker_url, GIGCORE_EXTRA_CONSUMERS=AUDITOR, GIGCORE_WORKER_HEARTBEAT_SECONDS="1")
    with TestClient(create_app(runtime)) as client, running_worker(env, tmp_path / "worker.log") as worker:
        api = Api(client, runtime)
        alice, bob = api.user("alice"), api.user("bob")
        wallets = [api.wallet(alice), api.wallet(bob)]
        for i in range(DEPOSITS):
            api.deposit(alice if i % 2 == 0 else bob, wallets[i % 2], 100 + i)

        wait_until(
            lambda: audited(db) >= DEPOSITS and pending(db) == 0,
            timeout=45,
            what=f"{DEPOSITS} deposit events handled by the worker",
        )
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["broker"]["status"] == "up"
        assert checks["worker"]["mode"] == "broker" and checks["worker"]["status"] == "up", checks["worker"]
        assert checks["outbox"]["pending"] == 0

        assert worker.stop() == 0, worker.output()[-2000:]
        assert '"worker stopped"' in worker.output()

    assert_handled_exactly_once(db, DEPOSITS)
    assert_ledger_consistent(db, runtime)
