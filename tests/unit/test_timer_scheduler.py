"""The embedded timer scheduler fires due timers as the system, survives a failing round,
and stops when told to."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from core.escrow.domain import ContractId, MilestoneId, MilestoneStatus, TimerKinds
from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult, TimerFailure
from core.shared.actor import Persona
from core.shared.errors import DependencyUnavailable
from core.shared.timers import FAILED_TIMER_RETRY, Timer
from entrypoints.timer_scheduler import BATCH, TIMERS_ACTOR, TimerScheduler
from tests.unit.escrow.world import EscrowWorld, days

WAIT_S = 30  # a bound on waiting for the thread, not a timing assertion


def submitted(world: EscrowWorld, count: int = 1) -> list[tuple[ContractId, MilestoneId]]:
    client = world.funded_client("client", 1_000_000)
    provider = world.user("provider", Persona.PROVIDER)
    refs = []
    for _ in range(count):
        view = world.contract(client, provider, 1_000, auto_release_days=1)
        contract_id, milestone_id = view.contract_id, view.milestones[0].milestone_id
        world.fund(client, contract_id, milestone_id)
        world.submit(provider, contract_id, milestone_id)
        refs.append((contract_id, milestone_id))
    return refs


def status(world: EscrowWorld, contract_id: ContractId) -> MilestoneStatus:
    with world.runtime.new_unit_of_work() as uow:
        return uow.contracts.get(contract_id).milestones[0].status


def test_a_tick_fires_what_is_due_as_the_system() -> None:
    world = EscrowWorld.in_memory()
    [(contract_id, _)] = submitted(world)
    scheduler = TimerScheduler(world.runtime.use_cases.fire_due_timers, interval_seconds=60)

    assert scheduler.tick() == 0  # not due yet
    world.clock.advance(days(1))
    assert scheduler.tick() == 1
    assert status(world, contract_id) is MilestoneStatus.RELEASED
    assert scheduler.tick() == 0  # fired once


def test_a_tick_goes_on_while_batches_come_back_full() -> None:
    calls: list[int] = []

    def fire(command: FireDueTimersCommand) -> FireDueTimersResult:
        assert command.by == TIMERS_ACTOR
        calls.append(command.limit)
        full = tuple(object() for _ in range(BATCH if len(calls) < 3 else 7))
        return FireDueTimersResult(fired=full, failed=())  # type: ignore[arg-type]

    assert TimerScheduler(lambda: fire, interval_seconds=60).tick() == 2 * BATCH + 7
    assert calls == [BATCH] * 3


def test_one_tick_gets_past_more_failing_timers_than_a_batch() -> None:
    """Failed timers are postponed, so the round goes on to the batch behind them."""
    world = EscrowWorld.in_memory()
    [(contract_id, _)] = submitted(world)
    failing = [Timer.new(TimerKinds.AUTO_RELEASE, world.now(), {}) for _ in range(BATCH + 1)]  # malformed
    with world.runtime.new_unit_of_work() as uow:
        for timer in failing:
            uow.timers.schedule(timer)
        uow.commit()
    world.clock.advance(days(1))
    assert TimerScheduler(world.runtime.use_cases.fire_due_timers, interval_seconds=60).tick() == 1
    assert status(world, contract_id) is MilestoneStatus.RELEASED
    with world.runtime.new_unit_of_work() as uow:
        assert uow.timers.due(world.now(), kinds={TimerKinds.AUTO_RELEASE}, limit=500) == []
        later = uow.timers.due(world.now() + FAILED_TIMER_RETRY, kinds={TimerKinds.AUTO_RELEASE}, limit=500)
    assert {t.id for t in later} == {t.id for t in failing}


def test_a_round_whose_failures_come_back_ends() -> None:
    """Failed timers that could not be postponed come first again: the round stops there
    rather than fire them batch after batch."""
    calls: list[int] = []
    same = tuple(TimerFailure(timer_id=f"tmr_{n}", kind="escrow.clearing", code="x") for n in range(BATCH))

    def fire(command: FireDueTimersCommand) -> FireDueTimersResult:
        calls.append(command.limit)
        return FireDueTimersResult(fired=(), failed=same)

    assert TimerScheduler(lambda: fire, interval_seconds=60).tick() == 0
    assert calls == [BATCH, BATCH]


def test_the_thread_fires_due_timers_until_stopped() -> None:
    world = EscrowWorld.in_memory()
    refs = submitted(world, count=2)
    world.clock.advance(days(1))
    released = threading.Event()
    use_case = world.runtime.use_cases.fire_due_timers()

    def fire(command: FireDueTimersCommand) -> FireDueTimersResult:
        result = use_case(command)
        if all(status(world, c) is MilestoneStatus.RELEASED for c, _ in refs):
            released.set()
        return result

    scheduler = TimerScheduler(lambda: fire, interval_seconds=0.01)
    scheduler.start()
    scheduler.start()  # idempotent
    try:
        assert released.wait(WAIT_S)
    finally:
        scheduler.stop()
    assert not scheduler.running


def test_a_failing_round_is_logged_and_the_next_tick_tries_again() -> None:
    rounds: list[str] = []
    recovered = threading.Event()

    def fire(command: FireDueTimersCommand) -> FireDueTimersResult:
        if not rounds:
            rounds.append("down")
            raise DependencyUnavailable("database")
        rounds.append("up")
        recovered.set()
        return FireDueTimersResult(fired=(), failed=())

    scheduler = TimerScheduler(lambda: fire, interval_seconds=0.01)
    scheduler.start()
    try:
        assert recovered.wait(WAIT_S)
    finally:
        scheduler.stop()
    assert rounds[:2] == ["down", "up"]


@pytest.mark.parametrize("interval", [0, -1])
def test_the_interval_must_be_positive(interval: float) -> None:
    never: Callable[[], object] = object
    with pytest.raises(ValueError, match="positive"):
        TimerScheduler(never, interval_seconds=interval)  # type: ignore[arg-type]
