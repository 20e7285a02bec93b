from __future__ import annotations

import itertools
from datetime import timedelta

from core.payments.domain import RESOLVE_BACKOFF, PaymentStatus, TimerKinds, resolve_delay
from tests.unit.payments.world import PaymentsWorld, client


def _due_resolve_timers(world: PaymentsWorld) -> list[tuple[str, object]]:
    return sorted(
        (row.timer.id, row.timer.due_at)
        for row in world.store.timers.values()
        if row.timer.kind == TimerKinds.RESOLVE and row.fired_at is None
    )


def test_the_backoff_goes_from_minutes_to_hours_to_daily() -> None:
    assert resolve_delay(0) < timedelta(hours=1)
    assert timedelta(hours=1) <= resolve_delay(4) < timedelta(days=1)
    assert resolve_delay(len(RESOLVE_BACKOFF) - 1) == timedelta(days=1)
    assert resolve_delay(100) == timedelta(days=1)


def test_the_janitor_resolves_an_unknown_payment_that_was_captured_and_credits_once() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].lose_answers = 1
    view = world.top_up(alice, 1_200)
    assert view.status is PaymentStatus.UNKNOWN
    world.clock.advance(resolve_delay(0))
    result = world.run_janitor()
    assert [r.outcome for r in result.resolved] == ["resolved"]
    payment = world.payment(view.payment_id)
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.provider_reference == "stripe_ch_0001"
    assert world.wallet_balance(alice) == 1_200
    world.clock.advance(timedelta(days=2))
    world.run_janitor()  # nothing left to do, nothing posted again
    assert world.entries_of_kind("payment_capture") == 1
    assert world.gateways["stripe"].calls == 1  # looked up, never charged again


def test_a_charge_the_provider_never_got_fails_after_the_grace_period() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].lose_answers = 1
    view = world.top_up(alice, 500)
    # The request timed out on its way: stripe never got it, but we could not know.
    world.gateways["stripe"].charges.clear()
    world.clock.advance(resolve_delay(0))
    world.run_janitor()
    assert world.payment(view.payment_id).status is PaymentStatus.UNKNOWN  # too early to tell
    world.clock.advance(timedelta(minutes=15))
    world.run_janitor()
    payment = world.payment(view.payment_id)
    assert payment.status is PaymentStatus.FAILED
    assert world.wallet_balance(alice) == 0


def test_a_provider_that_cannot_answer_is_asked_again_on_the_backoff_schedule() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].lose_answers = 1
    world.gateways["stripe"].lookups_unavailable = True
    view = world.top_up(alice, 500)
    delays = []
    for step in range(len(RESOLVE_BACKOFF) + 1):
        [(timer_id, due_at)] = _due_resolve_timers(world)
        assert timer_id.endswith(f"_{step}")
        delays.append(due_at)
        world.clock.advance(resolve_delay(step))
        result = world.run_janitor()
        assert [r.outcome for r in result.resolved] == ["retry"]
    assert world.payment(view.payment_id).status is PaymentStatus.UNKNOWN
    gaps = [b - a for a, b in itertools.pairwise(delays)]  # type: ignore[operator]
    assert gaps == [resolve_delay(i) for i in range(1, len(gaps) + 1)]
    assert len(world.events_named("payments.alert_raised")) == 1  # once, on reaching the daily step
    world.gateways["stripe"].lookups_unavailable = False
    world.clock.advance(timedelta(days=1))
    world.run_janitor()
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 500


def test_a_timer_whose_payment_moved_on_fires_as_obsolete() -> None:
    world, alice = PaymentsWorld(), client()
    world.top_up(alice, 100)  # captured at once; its intent timer is still due
    world.clock.advance(resolve_delay(0))
    result = world.run_janitor()
    assert [r.outcome for r in result.resolved] == ["obsolete"]
    assert _due_resolve_timers(world) == []
