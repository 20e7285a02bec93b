"""``postpone_failed``: a failed timer steps aside by ``FAILED_TIMER_RETRY``, or stays due
as it was when even that fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.unit_of_work import MemoryStore, MemoryUnitOfWork
from core.shared.errors import DependencyUnavailable
from core.shared.timers import FAILED_TIMER_RETRY, Timer, postpone_failed

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KIND = "tests.alarm"


def stored(store: MemoryStore) -> Timer:
    timer = Timer.new(KIND, T0, {})
    with MemoryUnitOfWork(store) as uow:
        uow.timers.schedule(timer)
        uow.commit()
    return timer


def due_at(store: MemoryStore, timer: Timer) -> datetime:
    with MemoryUnitOfWork(store) as uow:
        claimed = uow.timers.claim(timer.id)
    assert claimed is not None
    return claimed.due_at


def test_a_failed_timer_is_postponed_by_the_retry_delay_from_now() -> None:
    store = MemoryStore()
    timer = stored(store)
    postpone_failed(lambda: MemoryUnitOfWork(store), timer.id, now=T0 + timedelta(hours=1))
    assert due_at(store, timer) == T0 + timedelta(hours=1) + FAILED_TIMER_RETRY


def test_a_timer_that_cannot_be_postponed_stays_due_as_it_was() -> None:
    store = MemoryStore()
    timer = stored(store)

    class Down(MemoryUnitOfWork):
        def commit(self) -> None:
            raise DependencyUnavailable("database")

    postpone_failed(lambda: Down(store), timer.id, now=T0)  # swallowed: nothing to do but wait
    assert due_at(store, timer) == T0


def test_a_bug_while_postponing_is_not_hidden() -> None:
    store = MemoryStore()
    timer = stored(store)

    class Broken(MemoryUnitOfWork):
        def commit(self) -> None:
            raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        postpone_failed(lambda: Broken(store), timer.id, now=T0)
    assert due_at(store, timer) == T0
