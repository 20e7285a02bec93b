"""Running one timer's handler: claim it, act, mark it fired, all in the handler's
transaction, so a timer fires once however often it is delivered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.escrow.domain import FireTimerCommand, TimerFired
from core.escrow.ports import EscrowUnitOfWork
from core.shared.commands import Change
from core.shared.timers import OBSOLETE, Timer

ALREADY_FIRED = "already_fired"


def fire_claimed(
    uow: EscrowUnitOfWork,
    command: FireTimerCommand,
    *,
    at: datetime,
    handle: Callable[[Timer], Change[TimerFired]],
) -> Change[TimerFired]:
    """Claim the timer and run ``handle`` on it; a timer fired already (by a concurrent
    worker acting as another actor) changes nothing."""
    target = f"timer:{command.timer_id}"
    timer = uow.timers.claim(command.timer_id)
    if timer is None:
        return Change(
            result=TimerFired(timer_id=command.timer_id, kind=command.kind, outcome=ALREADY_FIRED), target=target
        )
    change = handle(timer)
    uow.timers.mark_fired(timer.id, at=at, outcome=change.result.outcome)
    return change


def obsolete(timer: Timer, *, state: str) -> Change[TimerFired]:
    """The timer's subject moved on: fired with nothing to do."""
    return Change(
        result=TimerFired(timer_id=timer.id, kind=timer.kind, outcome=OBSOLETE),
        target=f"timer:{timer.id}",
        after={"outcome": OBSOLETE, "state": state},
    )
