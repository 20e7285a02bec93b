"""The timer scheduler: durable timers fired inside ``gigcore serve`` (embedded) or
``gigcore worker``.

A daemon thread fires the due timers as the system actor every
``GIGCORE_TIMER_INTERVAL_SECONDS``, batch after batch while batches come back full, and
stops when told to (the HTTP app's lifespan, or the worker, starts and stops it). Each
tick runs escrow's timers (auto-release, deadlines, clearing), then the other contexts'
rounds (payments: ``payments.capture`` of authorised payments, the janitor's
``payments.resolve`` look-ups and the ``payments.hold_deadline`` guard; see
``payments_rounds``). Running it in several
processes at once is safe: pollers skip the timers another one is firing, and a timer
fires once however often it is delivered. A timer whose handler fails is logged and
postponed by ``FAILED_TIMER_RETRY`` (``core.shared.timers``), so the batches behind it
still fire in the same tick, and it is tried again then. A failed round is logged and
retried at the next tick, and never keeps the other rounds from running; the thread never
dies of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from attrs import frozen

from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult
from core.payments.use_cases.capture_payment import CaptureDuePaymentsCommand
from core.payments.use_cases.check_hold_deadlines import CheckHoldDeadlinesCommand
from core.payments.use_cases.resolve_unknown_payments import ResolveUnknownPaymentsCommand
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, correlation_id
from entrypoints.background import Loop

TIMERS_ACTOR = Actor.system("timers")
BATCH = 100
MAX_BATCHES_PER_TICK = 50  # then wait a tick, so a flood of timers never starves shutdown

FireDueTimersFn = Callable[[FireDueTimersCommand], FireDueTimersResult]

_log = structlog.get_logger("gigcore.timers")


@frozen
class RoundResult:
    fired: int
    failed: tuple[str, ...]  # timer ids whose handler failed (postponed by their firer)


@frozen
class TimerRound:
    """One context's timer firer: ``fire(correlation_id, limit)`` fires at most ``limit``
    due timers as ``TIMERS_ACTOR``."""

    name: str
    fire: Callable[[CorrelationId, int], RoundResult]


def payments_rounds(use_cases: Any) -> tuple[TimerRound, ...]:
    """Payments' timers, from the container's ``UseCases`` (resolved at every round)."""

    def resolve(correlation: CorrelationId, limit: int) -> RoundResult:
        command = ResolveUnknownPaymentsCommand(by=TIMERS_ACTOR, correlation_id=correlation, limit=limit)
        result = use_cases.resolve_unknown_payments()(command)
        return RoundResult(fired=len(result.resolved), failed=tuple(result.failed))

    def capture(correlation: CorrelationId, limit: int) -> RoundResult:
        command = CaptureDuePaymentsCommand(by=TIMERS_ACTOR, correlation_id=correlation, limit=limit)
        result = use_cases.capture_payment().fire_due(command)
        return RoundResult(fired=len(result.fired), failed=tuple(result.failed))

    def hold_deadlines(correlation: CorrelationId, limit: int) -> RoundResult:
        command = CheckHoldDeadlinesCommand(by=TIMERS_ACTOR, correlation_id=correlation, limit=limit)
        result = use_cases.check_hold_deadlines()(command)
        return RoundResult(fired=len(result.checked), failed=tuple(result.failed))

    return (
        TimerRound("payments.capture", capture),
        TimerRound("payments.resolve", resolve),
        TimerRound("payments.hold_deadline", hold_deadlines),
    )


def scheduler_for(use_cases: Any, *, interval_seconds: float) -> TimerScheduler:
    """The scheduler of every context's timers: escrow's and payments'."""
    return TimerScheduler(use_cases.fire_due_timers, interval_seconds=interval_seconds, also=payments_rounds(use_cases))


class TimerScheduler:
    """Fires due timers every ``interval_seconds`` on one daemon thread.

    ``fire_due_timers`` (escrow's) is resolved at each tick (the container's singleton use
    case), so an overridden provider is honoured; ``also`` are further rounds, run after
    it in order. ``start`` and ``stop`` are idempotent."""

    def __init__(
        self,
        fire_due_timers: Callable[[], FireDueTimersFn],
        *,
        interval_seconds: float,
        also: Sequence[TimerRound] = (),
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("the timer interval must be positive")
        self._use_case = fire_due_timers
        self._rounds = (TimerRound("escrow", self._escrow), *also)
        self._stopping = threading.Event()  # also cuts a long tick short between batches
        self._loop = Loop("timers", self._step, interval_seconds=interval_seconds)

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        self._stopping.clear()
        self._loop.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Ask the thread to stop and wait for the round it is in (at most ``timeout``)."""
        self._stopping.set()
        self._loop.stop(timeout_seconds)

    def _step(self) -> bool:
        self.tick()  # a failure is logged by the loop and retried after the interval
        return False  # tick runs batch after batch itself; the next tick waits an interval

    def tick(self) -> int:
        """Fire what is due now, round after round, each batch after batch while batches
        come back full. Returns how many timers fired. A round that raises does not keep
        the later ones from running; the first such error is raised at the end."""
        fired = 0
        error: Exception | None = None
        for timer_round in self._rounds:
            try:
                fired += self._run_round(timer_round)
            except Exception as failure:  # the others still run; raised below
                _log.warning("a timer round failed", round=timer_round.name, error_type=type(failure).__name__)
                error = error or failure
            if self._stopping.is_set():
                break
        if fired:
            _log.info("timers fired", count=fired)
        if error is not None:
            raise error
        return fired

    def _run_round(self, timer_round: TimerRound) -> int:
        fired = 0
        failed: set[str] = set()
        for _ in range(MAX_BATCHES_PER_TICK):
            result = timer_round.fire(correlation_id(None), BATCH)
            fired += result.fired
            if result.failed and timer_round.name != "escrow":  # escrow's are logged one by one
                _log.warning("timers failed; postponed", round=timer_round.name, timer_ids=list(result.failed))
            # A full batch may have more behind it. Failed timers are postponed, so the next
            # batch is the ones behind them; one that comes back failed again could not be
            # postponed (the database is down) and would come first every time: the round ends.
            again = failed.intersection(result.failed)
            failed.update(result.failed)
            if result.fired + len(result.failed) < BATCH or again or self._stopping.is_set():
                break
        return fired

    def _escrow(self, correlation: CorrelationId, limit: int) -> RoundResult:
        command = FireDueTimersCommand(by=TIMERS_ACTOR, correlation_id=correlation, limit=limit)
        result = self._use_case()(command)
        for failure in result.failed:
            _log.warning("timer failed; postponed", timer_id=failure.timer_id, kind=failure.kind, code=failure.code)
        return RoundResult(fired=len(result.fired), failed=tuple(f.timer_id for f in result.failed))
