"""In the embedded default, durable timers fire inside the server: the app's lifespan runs
the timer scheduler between the runtime's start and stop."""

from __future__ import annotations

import threading
import time

from core.escrow.domain import MilestoneStatus
from core.shared.actor import Persona
from core.shared.time import ManualClock
from entrypoints.container import build_in_memory
from entrypoints.settings import Settings
from tests.unit.escrow.world import EscrowWorld, days
from tests.unit.http.conftest import serve

WAIT_S = 30  # a bound on waiting for the scheduler's thread, not a timing assertion


def scheduler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gigcore-timers" and t.is_alive()]


def test_the_server_fires_due_timers_by_itself_and_stops_firing_when_it_stops() -> None:
    clock = ManualClock()
    world = EscrowWorld.over(build_in_memory(Settings(timer_interval_seconds=1), clock=clock), clock)
    client, provider = world.funded_client("client", 10_000), world.user("provider", Persona.PROVIDER)
    view = world.contract(client, provider, 10_000, auto_release_days=1)
    contract_id, milestone_id = view.contract_id, view.milestones[0].milestone_id
    world.fund(client, contract_id, milestone_id)
    world.submit(provider, contract_id, milestone_id)
    clock.advance(days(1))  # the auto-release is due; nobody fires it but the server

    def status() -> MilestoneStatus:
        with world.runtime.new_unit_of_work() as uow:
            return uow.contracts.get(contract_id).milestones[0].status

    with serve(world.runtime):
        assert len(scheduler_threads()) == 1
        deadline = time.monotonic() + WAIT_S
        while status() is not MilestoneStatus.RELEASED:
            assert time.monotonic() < deadline, "the server never fired the due auto-release"
            time.sleep(0.01)
    assert scheduler_threads() == []
    assert world.earnings(provider).pending.minor == 9_000


def test_a_zero_interval_runs_no_scheduler() -> None:
    with serve(build_in_memory(Settings(timer_interval_seconds=0))):
        assert scheduler_threads() == []
