"""Background loops of a gigcore process: the outbox relay or in-process dispatcher, the
worker heartbeat. One daemon thread each, stopped cooperatively."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

_log = structlog.get_logger("gigcore.background")


class Loop:
    """Calls ``step`` again at once while it reports more work (returns True), otherwise
    every ``interval_seconds``. A failing step is logged and retried after the interval
    (backing off to 10 intervals while it keeps failing); the thread never dies of it.
    ``stop`` lets the running step finish (at most ``timeout``) and then ``on_stop`` run.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], bool],
        *,
        interval_seconds: float,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("the interval must be positive")
        self._name, self._step, self._interval, self._on_stop = name, step, interval_seconds, on_stop
        self._stopping = threading.Event()
        self._wake = threading.Event()
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
            self._thread = threading.Thread(target=self._run, name=f"gigcore-{self._name}", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the next step now rather than after the interval (a commit just happened)."""
        self._wake.set()

    def stop(self, timeout_seconds: float = 30.0) -> bool:
        """Returns False if the step did not finish within the timeout."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
            self._wake.set()
        if thread is None:
            return True
        thread.join(timeout_seconds)
        if thread.is_alive():
            _log.warning("background loop did not stop in time", loop=self._name, timeout_seconds=timeout_seconds)
            return False
        return True

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                more = self._step()
                failures = 0
            except Exception as error:  # logged; the loop goes on
                failures += 1
                more = False
                _log.warning(
                    "background step failed",
                    loop=self._name,
                    error_type=type(error).__name__,
                    code=getattr(error, "code", None),
                    failures=failures,
                )
            if more:
                continue
            self._wake.wait(self._interval * min(10, 2 ** min(failures, 4)) if failures else self._interval)
            self._wake.clear()
        if self._on_stop is not None:
            try:
                self._on_stop()
            except Exception as error:
                _log.warning("background loop stop hook failed", loop=self._name, error_type=type(error).__name__)
