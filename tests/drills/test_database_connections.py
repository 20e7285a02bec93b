"""Drill d: PostgreSQL's backends of the drill database are terminated
(``pg_terminate_backend``) three times while commands are sent (use cases and HTTP)
and the worker consumes. Callers get a clear, retryable error (DependencyUnavailable;
HTTP 503 problem+json) and never anything else; nothing is half-written (the ledger
balances, every deposit entry has its event); gigcore recovers without a restart (later
commands succeed, the worker process is the same one) and every committed event is
handled exactly once."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import Engine

from core.shared.errors import DependencyUnavailable
from entrypoints.container import Runtime, build
from entrypoints.http.app import create_app
from tests.drills.conftest import AUDITOR, producer_settings
from tests.support.checks import (
    assert_handled_exactly_once,
    assert_ledger_consistent,
    audited,
    deposit_events,
    pending,
)
from tests.support.load import Depositors
from tests.support.services import gigcore_env, running_worker, terminate_backends, wait_until
from tests.unit.http.conftest import Api, assert_problem

ATTEMPTS = 450
THREADS = 3
AFTER = 30


def test_killing_database_connections_under_load_gives_clear_errors_and_recovers(
    producer: Runtime, database_url: str, broker_url: str, db: Engine, tmp_path: Path
) -> None:
    depositors = Depositors(producer, 30)
    app_runtime = build(producer_settings(database_url, broker_url, db_pool_size=2))
    env = gigcore_env(database_url, broker_url, GIGCORE_EXTRA_CONSUMERS=AUDITOR, GIGCORE_WORKER_THREADS="4")
    with TestClient(create_app(app_runtime)) as client, running_worker(env, tmp_path / "worker.log") as worker:
        api = Api(client, app_runtime)
        carol = api.user("carol")
        wallet = api.wallet(carol)
        api.deposit(carol, wallet, 500)  # the app's pool now holds a connection
        child = worker.child()

        outcomes: Counter[str] = Counter()
        unexpected: list[BaseException] = []
        counter = itertools.count()
        lock = threading.Lock()

        def send() -> None:
            while (i := next(counter)) < ATTEMPTS:
                try:
                    depositors.deposit(i)
                    outcome = "ok"
                except DependencyUnavailable:
                    outcome = "unavailable"
                except Exception as error:
                    outcome = "unexpected"
                    unexpected.append(error)
                with lock:
                    outcomes[outcome] += 1

        senders = [threading.Thread(target=send, name=f"drill-sender-{n}") for n in range(THREADS)]
        for sender in senders:
            sender.start()
        http_answers: list[int] = []
        try:
            wait_until(lambda: audited(db) >= 60, timeout=30, what="the worker to be busy")
            for _ in range(3):
                assert terminate_backends(database_url) > 0
                key = uuid.uuid4().hex
                answer = api.post(
                    f"/v1/wallets/{wallet}/deposits", carol, {"amount": {"minor": 7, "currency": "EUR"}}, key=key
                )
                http_answers.append(answer.status_code)
                if answer.status_code != 201:
                    assert_problem(answer, 503, "dependency_unavailable")
                    retried = api.post(
                        f"/v1/wallets/{wallet}/deposits", carol, {"amount": {"minor": 7, "currency": "EUR"}}, key=key
                    )
                    assert retried.status_code == 201, retried.text
                time.sleep(0.7)
        finally:
            for sender in senders:
                sender.join(90)
        assert not any(sender.is_alive() for sender in senders)
        assert unexpected == [], [f"{type(e).__name__}: {e}" for e in unexpected[:3]]
        assert outcomes["ok"] + outcomes["unavailable"] == ATTEMPTS, outcomes
        assert outcomes["unavailable"] > 0, f"no command met a killed connection: {outcomes}"
        assert 503 in http_answers, f"the app's dead pooled connection should have failed one request: {http_answers}"

        # Recovery without restarting anything: commands go through again at once. The last
        # kill may have left dead connections in the pool that no sender touched since: the
        # first unit of work to meet one fails (and the pool is renewed), a retry with the
        # same idempotency key succeeds; no more than that.
        stale = 0
        for i in range(AFTER):
            key = uuid.uuid4().hex
            try:
                depositors.deposit(ATTEMPTS + i, key=key)
            except DependencyUnavailable:
                stale += 1
                depositors.deposit(ATTEMPTS + i, key=key)
        assert stale <= 1, stale
        api.deposit(carol, wallet, 9)
        committed = deposit_events(db)
        http_deposits = 1 + 3 + 1
        # An error may hide a commit (the connection died after COMMIT reached the server),
        # never the reverse: each success is one committed event.
        assert outcomes["ok"] + AFTER + http_deposits <= committed <= ATTEMPTS + AFTER + http_deposits, (
            outcomes,
            committed,
        )
        wait_until(
            lambda: audited(db) >= committed and pending(db) == 0, timeout=60, what=f"{committed} events handled"
        )
        assert worker.children() == [child], "the worker recovered without a restart"
        assert worker.stop() == 0

    assert_handled_exactly_once(db, committed)
    assert_ledger_consistent(db, producer)
