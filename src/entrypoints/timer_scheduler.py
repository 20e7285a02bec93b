"""The embedded timer scheduler: escrow's durable timers fired inside ``gigcore serve``.

A daemon thread fires the due timers (auto-release, deadlines, clearing) as the system
actor every ``GIGCORE_TIMER_INTERVAL_SECONDS``, batch after batch while batches come back
full, and stops when told to (the HTTP app's lifespan starts and stops it). Running it in
several processes at once is safe: pollers skip the timers another one is firing, and a
timer fires once however often it is delivered (``FireDueTimers``). A failed round is
logged and retried at the next tick; the thread never dies of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult
from core.shared.actor import Actor
from core.shared.ids import correlation_id

TIMERS_ACTOR = Actor.system("timers")
BATCH = 100
MAX_BATCHES_PER_TICK = 50  # then wait a tick, so a flood of timers never starves shutdown

FireDueTimersFn = Callable[[FireDueTimersCommand], FireDueTimersResult]

_log = structlog.get_logger("gigcore.timers")


class TimerScheduler:
    """Fires due timers every ``interval_seconds`` on one daemon thread.

    ``fire_due_timers`` is resolved at each tick (the container's singleton use case), so
    an overridden provider is honoured. ``start`` and ``stop`` are idempotent."""

    def __init__(self, fire_due_timers: Callable[[], FireDueTimersFn], *, interval_seconds: float) -> None:
        if interval_seconds <= 0:
            raise ValueError("the timer interval must be positive")
        self._use_case = fire_due_timers
        self._interval = interval_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="gigcore-timers", daemon=True)
            self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Ask the thread to stop and wait for the round it is in (at most ``timeout``)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
        if thread is not None:
            thread.join(timeout_seconds)
            if thread.is_alive():
                _log.warning("timer scheduler did not stop in time", timeout_seconds=timeout_seconds)

    def tick(self) -> int:
        """Fire what is due now, batch after batch while batches come back full. Returns
        how many timers fired."""
        fired = 0
        for _ in range(MAX_BATCHES_PER_TICK):
            command = FireDueTimersCommand(by=TIMERS_ACTOR, correlation_id=correlation_id(None), limit=BATCH)
            result = self._use_case()(command)
            fired += len(result.fired)
            for failure in result.failed:
                _log.warning(
                    "timer failed; it stays due", timer_id=failure.timer_id, kind=failure.kind, code=failure.code
                )
            # A full batch of fired timers may have more behind it; failed ones stay due and
            # would come first again, so a batch with failures ends the tick.
            if len(result.fired) < BATCH or result.failed or self._stopping.is_set():
                break
        if fired:
            _log.info("timers fired", count=fired)
        return fired

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:  # logged and retried next tick: the scheduler must outlive a bad round
                _log.exception("firing timers failed; trying again at the next tick")
            self._stopping.wait(self._interval)
