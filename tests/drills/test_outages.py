"""Longer outages than a dropped connection: RabbitMQ, then PostgreSQL, unreachable for
several seconds *for this drill's gigcore only* (a TCP proxy in front of each; the real
servers stay up for the other tests), during a burst of events.

Broker away: commands keep committing, their events wait in the outbox (nothing is marked
published without a confirm), and once the broker is back the backlog drains, each event
handled once. Database away: commands fail with DependencyUnavailable and nothing else,
the worker keeps retrying, and everything committed is handled once after it returns; no
process is restarted by hand."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine

from core.shared.errors import DependencyUnavailable
from entrypoints.container import build
from tests.drills.conftest import AUDITOR, producer_settings
from tests.support.checks import (
    assert_handled_exactly_once,
    assert_ledger_consistent,
    audited,
    deposit_events,
    pending,
)
from tests.support.load import Depositors
from tests.support.services import gigcore_env, running_worker, wait_until
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

OUTAGE_SECONDS = 6


def _via(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


def test_a_broker_outage_during_a_burst_loses_nothing(
    database_url: str, broker_url: str, db: Engine, tmp_path: Path
) -> None:
    events = 500
    amqp = urlsplit(broker_url)
    with tcp_proxy(amqp.hostname or "127.0.0.1", amqp.port or 5672) as broker_proxy:
        proxied = _via(broker_url, broker_proxy)
        producer = build(producer_settings(database_url, proxied))
        producer.start()
        depositors = Depositors(producer, 20)
        env = gigcore_env(database_url, proxied, GIGCORE_EXTRA_CONSUMERS=AUDITOR)
        try:
            with running_worker(env, tmp_path / "worker.log") as worker:
                failures: list[BaseException] = []

                def produce() -> None:
                    try:
                        depositors.burst(events, threads=3)
                    except BaseException as error:
                        failures.append(error)

                producing = threading.Thread(target=produce, name="drill-producer")
                producing.start()
                try:
                    wait_until(lambda: audited(db) >= 50, timeout=30, what="the worker to be busy")
                    broker_proxy.down()
                    time.sleep(OUTAGE_SECONDS / 2)
                    waiting = pending(db)
                    time.sleep(OUTAGE_SECONDS / 2)
                    broker_proxy.up()
                finally:
                    producing.join(60)
                assert not producing.is_alive() and failures == [], failures  # commands never needed the broker
                assert waiting > 0, "events should wait in the outbox while the broker is away"
                wait_until(
                    lambda: audited(db) >= events and pending(db) == 0,
                    timeout=75,
                    what=f"all {events} events handled after the broker returned",
                )
                assert worker.process.poll() is None
                assert worker.stop() == 0
        finally:
            producer.stop()

    assert_handled_exactly_once(db, events)
    assert_ledger_consistent(db, producer)


def test_a_database_outage_gives_clear_errors_and_everything_committed_is_handled_once(
    database_url: str, broker_url: str, db: Engine, tmp_path: Path
) -> None:
    pg = urlsplit(database_url)
    with tcp_proxy(pg.hostname or "127.0.0.1", pg.port or 5432) as db_proxy:
        proxied = _via(database_url, db_proxy)
        producer = build(producer_settings(proxied, broker_url))
        producer.start()
        depositors = Depositors(producer, 10)
        env = gigcore_env(proxied, broker_url, GIGCORE_EXTRA_CONSUMERS=AUDITOR)
        outcomes: Counter[str] = Counter()
        try:
            with running_worker(env, tmp_path / "worker.log") as worker:
                child = worker.child()
                stop = threading.Event()
                unexpected: list[BaseException] = []

                def send() -> None:
                    i = 0
                    while not stop.is_set():
                        try:
                            depositors.deposit(i)
                            outcomes["ok"] += 1
                        except DependencyUnavailable:
                            outcomes["unavailable"] += 1
                            time.sleep(0.05)
                        except Exception as error:
                            unexpected.append(error)
                            return
                        i += 1

                sender = threading.Thread(target=send, name="drill-sender")
                sender.start()
                try:
                    wait_until(lambda: audited(db) >= 50, timeout=30, what="the worker to be busy")
                    db_proxy.down()
                    before = outcomes["unavailable"]
                    time.sleep(OUTAGE_SECONDS)
                    during = outcomes["unavailable"] - before
                    db_proxy.up()
                    ok_after = outcomes["ok"]
                    wait_until(lambda: outcomes["ok"] >= ok_after + 20, timeout=30, what="commands to succeed again")
                finally:
                    stop.set()
                    sender.join(30)
                assert unexpected == [], [f"{type(e).__name__}: {e}" for e in unexpected[:3]]
                assert during > 0, f"commands should have failed while the database was away: {outcomes}"
                committed = deposit_events(db)
                assert outcomes["ok"] <= committed <= outcomes["ok"] + outcomes["unavailable"], (outcomes, committed)
                wait_until(
                    lambda: audited(db) >= committed and pending(db) == 0,
                    timeout=75,
                    what=f"{committed} events handled after the database returned",
                )
                assert worker.children() == [child], "the worker recovered without a restart"
                assert worker.stop() == 0
        finally:
            producer.stop()

    assert_handled_exactly_once(db, committed)
    direct = build(producer_settings(database_url, broker_url))  # the proxy is gone
    assert_ledger_consistent(db, direct)
