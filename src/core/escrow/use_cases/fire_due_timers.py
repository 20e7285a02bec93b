from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions, EscrowPolicy, FireTimerCommand, TimerFired, TimerKinds
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.auto_release_milestone import AutoReleaseMilestone
from core.escrow.use_cases.clear_earnings import ClearEarnings
from core.escrow.use_cases.time_out_milestone import TimeOutMilestone
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.time import Clock
from core.shared.timers import postpone_failed

MAX_BATCH = 1_000


@frozen(kw_only=True)
class FireDueTimersCommand:
    by: Actor
    correlation_id: CorrelationId
    limit: int = 100


@frozen(kw_only=True)
class TimerFailure:
    timer_id: str
    kind: str
    code: str  # the error's code; the timer is postponed and tried again then


@frozen(kw_only=True)
class FireDueTimersResult:
    fired: tuple[TimerFired, ...]
    failed: tuple[TimerFailure, ...]


class FireDueTimers:
    """Fire escrow's timers that are due (at most ``limit``, oldest first): auto-release,
    deadlines, clearing.

    Each timer runs as its own command through the ``CommandRunner`` (authorised,
    audited, in its own transaction) with the idempotency key ``timer:<id>``, and is
    claimed and marked fired in that transaction: delivering the same timer twice (two
    workers, a retry after a crash) has one effect. A timer whose milestone moved on is
    fired with the outcome ``obsolete``. A timer whose handler fails (a domain error, or a
    bug) is reported in ``failed`` and postponed by ``FAILED_TIMER_RETRY`` in its own
    transaction, so it steps aside: the others, and the next batch, still fire, and it is
    tried again then (if the postponing fails too, it stays due as it was). This driver
    itself changes nothing else, so it is not audited; the timers it fires are.

    Raises Forbidden (the actor may not fire timers), InvalidInput (``limit``), and
    DependencyUnavailable (the batch stops; retry)."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._new_uow = new_uow
        self._authorizer = authorizer
        self._clock = clock
        self._handlers: dict[str, Callable[[FireTimerCommand], TimerFired]] = {
            TimerKinds.AUTO_RELEASE: AutoReleaseMilestone(new_uow, authorizer, clock, policy),
            TimerKinds.DEADLINE: TimeOutMilestone(new_uow, authorizer, clock, policy),
            TimerKinds.CLEARING: ClearEarnings(new_uow, authorizer, clock),
        }

    def __call__(self, command: FireDueTimersCommand) -> FireDueTimersResult:
        if isinstance(command.limit, bool) or not isinstance(command.limit, int) or not 1 <= command.limit <= MAX_BATCH:
            raise InvalidInput("limit", f"an integer from 1 to {MAX_BATCH}")
        if not self._authorizer.allows(command.by, Actions.FIRE_TIMERS):
            raise Forbidden(Actions.FIRE_TIMERS)
        with self._new_uow() as uow:
            due = uow.timers.due(self._clock.now(), kinds=self._handlers.keys(), limit=command.limit)
        fired: list[TimerFired] = []
        failed: list[TimerFailure] = []
        for timer in due:
            fire = FireTimerCommand(
                by=command.by,
                idempotency_key=IdempotencyKey(f"timer:{timer.id}"),
                correlation_id=command.correlation_id,
                timer_id=timer.id,
                kind=timer.kind,
            )
            try:
                fired.append(self._handlers[timer.kind](fire))
            except DomainError as error:
                if error.category is ErrorCategory.UNAVAILABLE:
                    raise
                failed.append(TimerFailure(timer_id=timer.id, kind=timer.kind, code=error.code))
                postpone_failed(self._new_uow, timer.id, now=self._clock.now())
            except Exception:  # a bug in one timer must not stall every timer behind it
                failed.append(TimerFailure(timer_id=timer.id, kind=timer.kind, code="internal_error"))
                postpone_failed(self._new_uow, timer.id, now=self._clock.now())
        return FireDueTimersResult(fired=tuple(fired), failed=tuple(failed))
