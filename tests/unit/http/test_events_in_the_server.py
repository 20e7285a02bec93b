"""In the embedded default (no broker), committed events reach their consumers inside the
server, after commit, exactly once in effect; with a broker configured the server leaves
them (and the timers) to `gigcore worker`."""

from __future__ import annotations

import threading
import time

from entrypoints.container import build_in_memory
from entrypoints.settings import Settings
from tests.support.consumers import DRILL_ACTION
from tests.support.seed import deposits
from tests.unit.http.conftest import serve

WAIT_S = 30  # a bound on waiting for the dispatcher's thread, not a timing assertion
DRILL = "tests.support.consumers:drill_auditor"


def dispatcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gigcore-events" and t.is_alive()]


def handled(runtime: object) -> list[str]:
    with runtime.new_unit_of_work() as uow:  # type: ignore[attr-defined]
        return [r.draft.target for rs in uow.store.audit.values() for r in rs if r.draft.action == DRILL_ACTION]


def test_the_server_delivers_committed_events_to_consumers_once() -> None:
    runtime = build_in_memory(Settings(extra_consumers=DRILL, outbox_poll_ms=20))
    with serve(runtime):
        assert len(dispatcher_threads()) == 1
        deposits(runtime, 5)
        deadline = time.monotonic() + WAIT_S
        while runtime.outbox_stats()[0] > 0 or len(handled(runtime)) < 5:
            assert time.monotonic() < deadline, "the server never delivered the events"
            time.sleep(0.01)
        assert runtime.dispatch_events() == 0  # nothing left, nothing delivered twice
    assert dispatcher_threads() == []
    targets = handled(runtime)
    assert len(targets) == len(set(targets)) == 5


def test_with_a_broker_the_server_leaves_events_and_timers_to_the_worker() -> None:
    settings = Settings(extra_consumers=DRILL, broker_url="amqp://guest:guest@127.0.0.1:1/", timer_interval_seconds=1)
    with serve(build_in_memory(settings)):
        assert dispatcher_threads() == []
        assert [t for t in threading.enumerate() if t.name == "gigcore-timers"] == []


def test_embedders_deliver_pending_events_on_demand() -> None:
    runtime = build_in_memory(Settings(extra_consumers=DRILL))
    runtime.start()
    deposits(runtime, 3)

    assert runtime.dispatch_events() == 3 + 2  # the user's and the wallet's events too
    assert runtime.dispatch_events() == 0
    assert len(handled(runtime)) == 3
