"""``gigcore worker``: a supervisor that runs worker processes and restarts any that dies.

Each worker is ``python -m entrypoints.worker --index N``. A worker that exits on its own
(crash, SIGKILL, out of memory, a broker unreachable at start) is restarted after a
backoff (1 s doubling to 30 s; back to 1 s once it ran for a minute). SIGTERM or SIGINT
to the supervisor is passed on to every worker, which then shut down gracefully; those
still running after their shutdown budget plus 10 s are killed. A second signal kills
them at once. Imports neither dramatiq nor pika (the CLI loads this module by name).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from types import FrameType

import structlog

_log = structlog.get_logger("gigcore.supervisor")

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 60.0


class _Child:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.backoff = FIRST_BACKOFF
        self.restart_at = 0.0
        self.restarts = 0

    def start(self) -> None:
        command = [sys.executable, "-m", "entrypoints.worker", "--index", str(self.index)]
        # Its own session: a Ctrl-C in the terminal reaches the supervisor only, which passes
        # it on once (a worker treats a quick second signal as "exit now").
        self.process = subprocess.Popen(command, start_new_session=True)  # noqa: S603  (our interpreter, our module)
        self.started = time.monotonic()
        _log.info("worker process started", index=self.index, pid=self.process.pid, restarts=self.restarts)


def supervise(processes: int, *, shutdown_seconds: int) -> int:
    children = [_Child(i) for i in range(processes)]
    stopping = threading.Event()
    signals = [0]

    def handle(signum: int, _frame: FrameType | None) -> None:
        signals[0] += 1
        stopping.set()
        for child in children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGKILL if signals[0] > 1 else signal.SIGTERM)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    for child in children:
        child.start()
    while not stopping.wait(0.2):
        now = time.monotonic()
        for child in children:
            process = child.process
            if process is not None and process.poll() is not None:
                ran = now - child.started
                child.backoff = FIRST_BACKOFF if ran >= HEALTHY_AFTER else min(MAX_BACKOFF, child.backoff * 2)
                child.restart_at = now + (FIRST_BACKOFF if ran >= HEALTHY_AFTER else child.backoff / 2)
                _log.error(
                    "worker process exited; restarting",
                    index=child.index,
                    pid=process.pid,
                    code=process.returncode,
                    restart_in=round(child.restart_at - now, 1),
                )
                child.process = None
            if child.process is None and now >= child.restart_at and not stopping.is_set():
                child.restarts += 1
                child.start()
    deadline = time.monotonic() + shutdown_seconds + 10
    for child in children:
        process = child.process
        if process is None:
            continue
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _log.error("worker process did not stop in time; killing it", index=child.index, pid=process.pid)
            process.kill()
            process.wait()
    _log.info("supervisor stopped")
    return 0
