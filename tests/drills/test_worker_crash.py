"""Drill b: SIGKILL the worker process mid-batch. The supervisor restarts it, and every
event is handled exactly once in effect: the consumer's audit record and its inbox row
commit together, so a job killed before its commit is redelivered and applied once,
and one killed after it is redelivered and skipped."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from sqlalchemy import Engine

from entrypoints.container import Runtime
from tests.drills.conftest import AUDITOR
from tests.support.checks import assert_handled_exactly_once, assert_ledger_consistent, audited, pending
from tests.support.load import Depositors
from tests.support.services import gigcore_env, running_worker, wait_until

EVENTS = 600
WALLETS = 20


def test_a_worker_killed_mid_batch_is_restarted_and_nothing_is_handled_twice(
    producer: Runtime, database_url: str, broker_url: str, db: Engine, tmp_path: Path
) -> None:
    depositors = Depositors(producer, WALLETS)
    env = gigcore_env(database_url, broker_url, GIGCORE_EXTRA_CONSUMERS=AUDITOR, GIGCORE_WORKER_THREADS="4")
    with running_worker(env, tmp_path / "worker.log") as worker:
        first = worker.child()
        failures: list[BaseException] = []

        def produce() -> None:
            try:
                depositors.burst(EVENTS, threads=3)
            except BaseException as error:
                failures.append(error)

        producing = threading.Thread(target=produce, name="drill-producer")
        producing.start()
        try:
            wait_until(lambda: audited(db) >= 100, timeout=30, what="the worker to be busy", interval=0.02)
            os.kill(first, signal.SIGKILL)
            at_kill = audited(db)
        finally:
            producing.join(60)
        assert not producing.is_alive() and failures == [], failures
        assert at_kill < EVENTS, "the kill came after the last event: not mid-batch"

        second = worker.child(other_than=first, timeout=15)
        assert second != first
        assert worker.process.poll() is None, "the supervisor itself must survive its worker's death"
        # A restarted relay may wait for the dead one's lease (30 s) before it leads.
        wait_until(lambda: audited(db) >= EVENTS and pending(db) == 0, timeout=75, what=f"all {EVENTS} events handled")
        assert worker.stop() == 0
        assert '"worker process exited; restarting"' in worker.output()

    assert_handled_exactly_once(db, EVENTS)
    assert_ledger_consistent(db, producer)
