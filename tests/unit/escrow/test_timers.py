"""Durable timers driven by clock jumps: auto-release, deadlines with both outcomes,
clearing, and the same timer fired twice having one effect."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.escrow.domain import EscrowPolicy, FireTimerCommand, MilestoneStatus, TimeoutOutcome, TimerKinds
from core.escrow.use_cases.auto_release_milestone import AutoReleaseMilestone
from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.ids import IdempotencyKey, correlation_id
from core.shared.money import Money
from core.shared.timers import FAILED_TIMER_RETRY, Timer
from tests.unit.escrow.world import TIMERS, EscrowWorld, days, ids

HOUR = timedelta(hours=1)


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


def submitted(world: EscrowWorld, client: Actor, provider: Actor, **kw: object) -> tuple[str, str]:
    cid, (mid,) = ids(world.contract(client, provider, 100_000, **kw))  # type: ignore[arg-type]
    world.fund(client, cid, mid)
    world.submit(provider, cid, mid)
    return cid, mid


def test_submitted_work_is_released_when_the_client_stays_silent(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, mid = submitted(world, client, provider)
    assert world.jump(days(14) - HOUR).fired == ()
    assert world.milestone(client, cid, 1).status is MilestoneStatus.SUBMITTED
    fired = world.jump(HOUR).fired
    assert [(f.kind, f.outcome) for f in fired] == [(TimerKinds.AUTO_RELEASE, "released")]
    view = world.milestone(client, cid, 1)
    assert (view.status, view.held, view.fees) == (MilestoneStatus.RELEASED, eur(0), eur(10_000))
    assert world.earnings(provider).pending == eur(90_000)
    assert world.escrow_balance(mid) == eur(0)
    assert world.jump(days(5)).fired[0].outcome == "cleared"
    assert world.earnings(provider).available == eur(90_000)
    assert world.totals() == {"EUR": 0}


def test_the_auto_release_period_is_configurable() -> None:
    world = EscrowWorld.in_memory(EscrowPolicy(auto_release_days=3))
    client = world.funded_client("client", 100_000)
    provider = world.user("provider", Persona.PROVIDER)
    cid, (m1, m2) = ids(world.contract(client, provider, 10_000, 10_000))
    for mid in (m1, m2):
        world.fund(client, cid, mid)
        world.submit(provider, cid, mid)
    assert len(world.jump(days(3)).fired) == 2


def test_a_new_submission_makes_the_earlier_auto_release_obsolete(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, mid = submitted(world, client, provider)
    world.clock.advance(days(7))
    world.request_changes(client, cid, mid)
    world.submit(provider, cid, mid)  # submission 2, due in 14 days from now
    assert [f.outcome for f in world.jump(days(7)).fired] == ["obsolete"]
    assert world.milestone(client, cid, 1).status is MilestoneStatus.SUBMITTED
    assert [f.outcome for f in world.jump(days(7)).fired] == ["released"]


def test_a_dispute_hold_stops_auto_release_and_the_deadline(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = submitted(world, client, provider, due_in=days(20), outcome=TimeoutOutcome.RELEASE)
    world.open_hold(client, cid, mid)
    fired = world.jump(days(30)).fired
    assert sorted(f.outcome for f in fired) == ["obsolete", "obsolete"]
    view = world.milestone(client, cid, 1)
    assert (view.status, view.held) == (MilestoneStatus.DISPUTED, eur(100_000))
    assert world.escrow_balance(mid) == eur(100_000)
    assert world.fee_revenue() == 0


def test_an_unfunded_milestone_expires_at_its_deadline(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, _ = ids(world.contract(client, provider, 10_000, due_in=days(10)))
    assert world.jump(days(10) - HOUR).fired == ()
    assert [f.outcome for f in world.jump(HOUR).fired] == ["expired"]
    assert world.milestone(client, cid, 1).status is MilestoneStatus.EXPIRED
    assert world.earnings(client).available == eur(1_000_000)


def test_a_funded_milestone_times_out_to_a_refund(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, (mid,) = ids(world.contract(client, provider, 10_000, due_in=days(10), outcome=TimeoutOutcome.REFUND))
    world.fund(client, cid, mid)
    assert [f.outcome for f in world.jump(days(10)).fired] == ["refunded"]
    view = world.milestone(client, cid, 1)
    assert (view.status, view.held, view.refunded) == (MilestoneStatus.REFUNDED, eur(0), eur(10_000))
    assert world.earnings(client).available == eur(1_000_000)
    assert world.escrow_balance(mid) == eur(0)
    assert world.fee_revenue() == 0


def test_a_funded_milestone_times_out_to_a_release(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, (mid,) = ids(world.contract(client, provider, 10_000, due_in=days(10), outcome=TimeoutOutcome.RELEASE))
    world.fund(client, cid, mid)
    assert [f.outcome for f in world.jump(days(10)).fired] == ["released"]
    view = world.milestone(client, cid, 1)
    assert (view.status, view.released, view.fees) == (MilestoneStatus.RELEASED, eur(10_000), eur(1_000))
    assert world.earnings(provider).pending == eur(9_000)
    assert world.fee_revenue() == 1_000
    assert world.earnings(client).available == eur(1_000_000 - 10_000)


def test_submitted_work_is_not_timed_out_by_the_deadline(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, _ = submitted(world, client, provider, due_in=days(2), outcome=TimeoutOutcome.REFUND)
    assert [f.outcome for f in world.jump(days(2)).fired] == ["obsolete"]
    assert world.milestone(client, cid, 1).status is MilestoneStatus.SUBMITTED
    assert [f.outcome for f in world.jump(days(12)).fired] == ["released"]


def test_the_same_timer_fired_twice_has_one_effect(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = submitted(world, client, provider)
    world.clock.advance(days(14))
    with world.runtime.new_unit_of_work() as uow:
        (timer,) = uow.timers.due(world.now(), kinds={TimerKinds.AUTO_RELEASE}, limit=10)
    use_cases = world.runtime.use_cases
    handler = AutoReleaseMilestone(
        world.runtime.persistence.uow_factory(), use_cases.authorizer(), use_cases.clock(), EscrowPolicy()
    )

    def deliver(by: Actor) -> object:
        return handler(
            FireTimerCommand(
                by=by,
                idempotency_key=IdempotencyKey(f"timer:{timer.id}"),
                correlation_id=correlation_id(None),
                timer_id=timer.id,
                kind=timer.kind,
            )
        )

    first = deliver(TIMERS)
    after_first = world.snapshot()
    assert deliver(TIMERS) == first  # the same worker again: its first result, replayed
    other = deliver(Actor.system("another-worker"))  # another worker: finds it fired
    assert other.outcome == "already_fired"  # type: ignore[attr-defined]
    assert world.snapshot()[:5] == after_first[:5]  # only the audit and outbox differ: no money moved
    assert world.fire().fired == ()  # and it is never due again
    assert world.earnings(provider).pending == eur(90_000)
    assert world.escrow_balance(mid) == eur(0)
    assert world.milestone(client, cid, 1).submissions == 1


def test_a_failing_timer_is_reported_postponed_and_does_not_block_the_others(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, (mid,) = ids(world.contract(client, provider, 10_000, due_in=days(1)))
    bogus = Timer.new(
        TimerKinds.CLEARING,
        world.now(),
        {
            "release_id": "rel_x",
            "payee_id": provider.id,
            "currency": "EUR",
            "net_minor": 5,
            "contract_id": cid,
            "milestone_id": mid,
        },
    )  # clears money that was never released: the ledger refuses
    with world.runtime.new_unit_of_work() as uow:
        uow.timers.schedule(bogus)
        uow.commit()
    result = world.jump(days(1))
    assert [(f.timer_id, f.code) for f in result.failed] == [(bogus.id, "insufficient_funds")]
    assert [f.outcome for f in result.fired] == ["expired"]
    assert world.fire().failed == ()  # postponed: it stepped aside
    world.clock.advance(FAILED_TIMER_RETRY - timedelta(seconds=1))
    assert world.fire().failed == ()
    assert [f.timer_id for f in world.jump(timedelta(seconds=1)).failed] == [bogus.id]  # retried, still refused
    assert world.earnings(provider).available == eur(0)


def test_only_the_system_fires_timers(world: EscrowWorld, client: Actor) -> None:
    admin = world.user("admin", Persona.ADMIN)
    for actor in (client, admin):
        with pytest.raises(Forbidden):
            world.fire(actor)
    with pytest.raises(InvalidInput):
        world.uc.fire_due_timers()(FireDueTimersCommand(by=TIMERS, correlation_id=correlation_id(None), limit=0))


def test_a_batch_fires_at_most_its_limit_oldest_first(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    first = ids(world.contract(client, provider, 1_000, due_in=days(1)))[0]
    world.contract(client, provider, 1_000, due_in=days(2))
    world.clock.advance(days(3))
    batch = world.uc.fire_due_timers()(FireDueTimersCommand(by=TIMERS, correlation_id=correlation_id(None), limit=1))
    assert len(batch.fired) == 1
    assert world.milestone(client, first, 1).status is MilestoneStatus.EXPIRED
    assert len(world.fire().fired) == 1


def test_a_timer_whose_handler_breaks_does_not_stall_the_others(
    world: EscrowWorld, client: Actor, provider: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one handler (not a domain refusal) is reported in ``failed``; the timers
    behind it, oldest first, still fire."""
    contract = world.contract(client, provider, 1_000, due_in=days(3))
    contract_id, (milestone_id,) = ids(contract)
    world.fund(client, contract_id, milestone_id)
    world.submit(provider, contract_id, milestone_id)
    fire = world.runtime.use_cases.fire_due_timers()

    def broken(_command: FireTimerCommand) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(fire._handlers, TimerKinds.DEADLINE, broken)
    result = world.jump(days(20))  # the deadline (day 3) is older than the auto-release (day 14)
    assert [f.code for f in result.failed] == ["internal_error"]
    assert world.milestone(client, contract_id, 1).status is MilestoneStatus.RELEASED


def test_more_failing_timers_than_a_batch_do_not_starve_the_ones_behind_them(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    """Failing timers (refused and broken) step aside, so the batches the scheduler asks
    for next reach the good timer; they are due again after ``FAILED_TIMER_RETRY``."""
    cid, _ = ids(world.contract(client, provider, 10_000, due_in=days(1)))
    refused = [
        Timer.new(
            TimerKinds.CLEARING,
            world.now(),
            {"release_id": f"rel_{n}", "payee_id": provider.id, "currency": "EUR", "net_minor": 5},
        )
        for n in range(60)
    ]  # clears money that was never released: the ledger refuses
    broken = [Timer.new(TimerKinds.AUTO_RELEASE, world.now(), {"contract_id": cid}) for _ in range(41)]  # malformed
    with world.runtime.new_unit_of_work() as uow:
        for timer in refused + broken:
            uow.timers.schedule(timer)
        uow.commit()
    world.clock.advance(days(1))
    fire = world.uc.fire_due_timers()
    first = fire(FireDueTimersCommand(by=TIMERS, correlation_id=correlation_id(None), limit=100))
    assert (len(first.fired), len(first.failed)) == (0, 100)
    second = fire(FireDueTimersCommand(by=TIMERS, correlation_id=correlation_id(None), limit=100))
    assert [f.outcome for f in second.fired] == ["expired"]
    assert {f.code for f in first.failed + second.failed} == {"insufficient_funds", "internal_error"}
    assert world.milestone(client, cid, 1).status is MilestoneStatus.EXPIRED

    def due_failing(now: datetime) -> set[str]:
        with world.runtime.new_unit_of_work() as uow:
            return {t.id for t in uow.timers.due(now, kinds={TimerKinds.CLEARING, TimerKinds.AUTO_RELEASE}, limit=500)}

    assert due_failing(world.now() + FAILED_TIMER_RETRY - timedelta(seconds=1)) == set()
    assert due_failing(world.now() + FAILED_TIMER_RETRY) == {t.id for t in refused + broken}
