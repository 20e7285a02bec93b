"""Drill c: every broker connection is closed (``rabbitmqctl close_all_connections``)
twice during a burst of 1,000 events. Nothing is lost and nothing is handled twice: the
relay marks only what RabbitMQ confirmed and republishes the rest, unacknowledged
messages are redelivered, the consumers' inboxes absorb the duplicates, the outbox
drains, and the worker reconnects by itself (no restart)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from entrypoints.container import Runtime
from tests.drills.conftest import AUDITOR
from tests.support.checks import assert_handled_exactly_once, assert_ledger_consistent, audited, pending
from tests.support.load import Depositors
from tests.support.services import (
    broker_connections,
    close_broker_connections,
    gigcore_env,
    running_worker,
    wait_until,
)

EVENTS = 1_000
WALLETS = 50


def test_dropping_every_broker_connection_during_a_burst_loses_nothing(
    producer: Runtime, database_url: str, broker_url: str, db: Engine, tmp_path: Path
) -> None:
    depositors = Depositors(producer, WALLETS)
    env = gigcore_env(database_url, broker_url, GIGCORE_EXTRA_CONSUMERS=AUDITOR)
    with running_worker(env, tmp_path / "worker.log") as worker:
        child = worker.child()
        failures: list[BaseException] = []

        def produce() -> None:
            try:
                depositors.burst(EVENTS, threads=4)
            except BaseException as error:
                failures.append(error)

        producing = threading.Thread(target=produce, name="drill-producer")
        producing.start()
        drops = 0
        try:
            for threshold in (150, 500):
                wait_until(lambda t=threshold: audited(db) >= t, timeout=45, what=f"{threshold} events handled")
                assert broker_connections(broker_url) > 0
                close_broker_connections(broker_url)
                drops += 1
        finally:
            producing.join(90)
        assert not producing.is_alive() and failures == [], failures
        assert drops == 2

        wait_until(lambda: audited(db) >= EVENTS and pending(db) == 0, timeout=60, what=f"all {EVENTS} events handled")
        assert worker.children() == [child], "the worker reconnected by itself, without a restart"
        # Idle consumers reconnect on their own backoff: connected again within seconds.
        wait_until(lambda: broker_connections(broker_url) > 0, timeout=20, what="the worker connected again")
        assert worker.stop() == 0

    assert_handled_exactly_once(db, EVENTS)
    assert_ledger_consistent(db, producer)
