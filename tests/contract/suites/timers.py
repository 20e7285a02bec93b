from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.shared.ids import new_id
from core.shared.timers import Timer

from ..builders import T0
from ..harness import MakeUow, WaitUntilBlocked
from ..threads import in_background

KIND = "tests.alarm"
OTHER = "tests.other_alarm"


def a_timer(minutes: int = 0, kind: str = KIND, **payload: str | int) -> Timer:
    return Timer(id=new_id("tmr"), kind=kind, due_at=T0 + timedelta(minutes=minutes), payload=payload)


def schedule(make_uow: MakeUow, *timers: Timer) -> None:
    with make_uow() as uow:
        for timer in timers:
            uow.timers.schedule(timer)
        uow.commit()


def due_ids(make_uow: MakeUow, *, minutes: int = 60, kinds: tuple[str, ...] = (KIND,), limit: int = 100) -> list[str]:
    with make_uow() as uow:
        return [t.id for t in uow.timers.due(T0 + timedelta(minutes=minutes), kinds=kinds, limit=limit)]


def fields(timer: Timer) -> tuple[Any, ...]:
    return timer.id, timer.kind, timer.due_at, dict(timer.payload)


class TimersContract:
    """Behaviour every ``Timers`` adapter has. Subclasses supply ``make_uow``."""

    def test_due_timers_come_oldest_first_then_by_id_up_to_the_limit(self, make_uow: MakeUow) -> None:
        late, early = a_timer(30), a_timer(-5)
        same = sorted([a_timer(10), a_timer(10)], key=lambda t: t.id)
        schedule(make_uow, late, same[1], early, same[0], a_timer(61), a_timer(0, kind=OTHER))
        assert due_ids(make_uow) == [early.id, same[0].id, same[1].id, late.id]
        assert due_ids(make_uow, limit=2) == [early.id, same[0].id]
        assert due_ids(make_uow, minutes=10) == [early.id, same[0].id, same[1].id]  # due_at <= now

    def test_due_takes_only_the_kinds_asked_for(self, make_uow: MakeUow) -> None:
        mine, other = a_timer(1), a_timer(2, kind=OTHER)
        schedule(make_uow, mine, other)
        assert due_ids(make_uow, kinds=(OTHER,)) == [other.id]
        assert due_ids(make_uow, kinds=(KIND, OTHER)) == [mine.id, other.id]
        assert due_ids(make_uow, kinds=("tests.nothing",)) == []

    def test_a_due_timer_reads_back_with_its_payload(self, make_uow: MakeUow) -> None:
        timer = a_timer(1, contract_id="ctr_1", note="ünïcode", submission=3, net_minor=10**15)
        schedule(make_uow, timer)
        with make_uow() as uow:
            (due,) = uow.timers.due(T0 + timedelta(minutes=1), kinds=[KIND], limit=10)
            claimed = uow.timers.claim(timer.id)
        assert claimed is not None
        assert fields(due) == fields(claimed) == fields(timer)
        assert due.number("net_minor") == 10**15
        assert due.due_at.isoformat() == timer.due_at.isoformat()

    def test_scheduling_an_existing_id_changes_nothing(self, make_uow: MakeUow) -> None:
        timer = a_timer(1, n=1)
        schedule(make_uow, timer)
        schedule(make_uow, Timer(id=timer.id, kind=KIND, due_at=T0 + timedelta(days=9), payload={"n": 2}))
        with make_uow() as uow:
            claimed = uow.timers.claim(timer.id)
        assert claimed is not None and fields(claimed) == fields(timer)

    def test_a_fired_timer_is_never_due_or_claimed_again(self, make_uow: MakeUow) -> None:
        timer, other = a_timer(1), a_timer(2)
        schedule(make_uow, timer, other)
        with make_uow() as uow:
            assert uow.timers.claim(timer.id) is not None
            uow.timers.mark_fired(timer.id, at=T0 + timedelta(minutes=5), outcome="released")
            uow.commit()
        assert due_ids(make_uow) == [other.id]
        with make_uow() as uow:
            assert uow.timers.claim(timer.id) is None

    def test_postponing_moves_an_unfired_timer_behind_the_others(self, make_uow: MakeUow) -> None:
        failing, behind = a_timer(1, n=7), a_timer(2)
        schedule(make_uow, failing, behind)
        with make_uow() as uow:
            uow.timers.postpone(failing.id, until=T0 + timedelta(minutes=30))
            uow.commit()
        assert due_ids(make_uow, minutes=29) == [behind.id]
        assert due_ids(make_uow, minutes=30) == [behind.id, failing.id]
        with make_uow() as uow:
            claimed = uow.timers.claim(failing.id)
        assert claimed is not None
        assert fields(claimed) == (failing.id, KIND, T0 + timedelta(minutes=30), {"n": 7})

    def test_postponing_a_fired_or_unknown_timer_does_nothing(self, make_uow: MakeUow) -> None:
        fired = a_timer(1)
        schedule(make_uow, fired)
        with make_uow() as uow:
            assert uow.timers.claim(fired.id) is not None
            uow.timers.mark_fired(fired.id, at=T0, outcome="released")
            uow.commit()
        with make_uow() as uow:
            uow.timers.postpone(fired.id, until=T0 - timedelta(minutes=5))
            uow.timers.postpone("tmr_missing", until=T0)
            uow.commit()
        assert due_ids(make_uow) == []
        with make_uow() as uow:
            assert uow.timers.claim(fired.id) is None
            assert uow.timers.claim("tmr_missing") is None

    def test_leaving_without_commit_keeps_the_due_time(self, make_uow: MakeUow) -> None:
        timer = a_timer(1)
        schedule(make_uow, timer)
        with make_uow() as uow:
            uow.timers.postpone(timer.id, until=T0 + timedelta(days=1))
        assert due_ids(make_uow, minutes=1) == [timer.id]

    def test_an_unknown_timer_cannot_be_claimed(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.timers.claim("tmr_missing") is None

    def test_leaving_without_commit_unschedules_and_unfires(self, make_uow: MakeUow) -> None:
        kept, dropped = a_timer(1), a_timer(2)
        schedule(make_uow, kept)
        with make_uow() as uow:
            uow.timers.schedule(dropped)
            assert uow.timers.claim(kept.id) is not None
            uow.timers.mark_fired(kept.id, at=T0, outcome="released")
        assert due_ids(make_uow) == [kept.id]

    @pytest.mark.parametrize("first_commits", [True, False], ids=["holder-commits", "holder-rolls-back"])
    def test_a_claim_racing_an_open_one_waits_for_its_outcome(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked, first_commits: bool
    ) -> None:
        timer = a_timer(1)
        schedule(make_uow, timer)

        def second_claim() -> str:
            with make_uow() as uow:
                claimed = uow.timers.claim(timer.id)
                if claimed is None:
                    return "already fired"
                uow.timers.mark_fired(timer.id, at=T0, outcome="second")
                uow.commit()
                return "fired"

        with make_uow() as uow:
            assert uow.timers.claim(timer.id) is not None
            join = in_background(second_claim)  # waits: for the row, the write lock or the store
            wait_until_blocked(uow)
            uow.timers.mark_fired(timer.id, at=T0, outcome="first")
            if first_commits:
                uow.commit()
        assert join() == ("already fired" if first_commits else "fired")
        assert due_ids(make_uow) == []
