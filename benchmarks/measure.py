"""A closed-loop measurement: N threads each run one operation back to back; a warm-up is
discarded, then operations that finish inside a fixed window are counted and timed."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from attrs import field, frozen

Op = Callable[[], None]
# Called once in each worker thread: returns that thread's operation and its clean-up.
WorkerFactory = Callable[[], tuple[Op, Callable[[], None]]]

MAX_ERROR_SAMPLES = 5


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by the nearest-rank method; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@frozen(kw_only=True)
class Measurement:
    """One point: ``ops`` finished in ``seconds`` by ``threads`` closed-loop clients."""

    threads: int
    seconds: float
    ops: int
    errors: int = 0
    error_kinds: dict[str, int] = field(factory=dict)
    error_samples: tuple[str, ...] = ()
    p50_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    tool: str = "python-threads"
    extra: dict[str, Any] = field(factory=dict)
    # A rate the tool reported itself (pgbench's tps, wrk's Requests/sec) wins over ops/seconds.
    reported_ops_per_s: float | None = None

    @property
    def ops_per_s(self) -> float:
        if self.reported_ops_per_s is not None:
            return self.reported_ops_per_s
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "ops_per_s": round(self.ops_per_s, 1),
            "p50_ms": _ms(self.p50_ms),
            "p99_ms": _ms(self.p99_ms),
            "mean_ms": _ms(self.mean_ms),
            "ops": self.ops,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "error_kinds": dict(self.error_kinds),
            "error_samples": list(self.error_samples),
            "tool": self.tool,
            **self.extra,
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def from_latencies(
    *,
    threads: int,
    seconds: float,
    latencies_s: list[float],
    tool: str,
    errors: Counter[str] | None = None,
    error_samples: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
    reported_ops_per_s: float | None = None,
) -> Measurement:
    ordered = sorted(latencies_s)
    errors = errors or Counter()
    return Measurement(
        threads=threads,
        seconds=seconds,
        ops=len(ordered),
        errors=sum(errors.values()),
        error_kinds=dict(errors),
        error_samples=tuple(error_samples)[:MAX_ERROR_SAMPLES],
        p50_ms=_scaled(percentile(ordered, 50)),
        p99_ms=_scaled(percentile(ordered, 99)),
        mean_ms=(sum(ordered) / len(ordered) * 1000) if ordered else None,
        tool=tool,
        extra=extra or {},
        reported_ops_per_s=reported_ops_per_s,
    )


def _scaled(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


# A CPU clock read at the start and the end of the window (e.g. the database server's CPU
# seconds); None when it cannot be read.
CpuClock = Callable[[], float | None]


def run_closed_loop(
    make_worker: WorkerFactory,
    *,
    threads: int,
    warmup: float,
    duration: float,
    server_cpu: CpuClock | None = None,
) -> Measurement:
    """Run ``threads`` workers for ``warmup + duration`` seconds; count what ends in the window.

    Every worker builds its operation in its own thread (a connection per thread, as pgbench
    has one per client). An operation that raises is counted as an error by exception type
    and the loop goes on; errors are data, not a failure of the harness."""
    stop = threading.Event()
    ready = threading.Barrier(threads + 1)
    window: list[float] = [math.inf, math.inf]
    per_thread: list[list[tuple[float, float]]] = [[] for _ in range(threads)]
    errors: list[Counter[str]] = [Counter() for _ in range(threads)]
    samples: list[str] = []
    setup_failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            op, close = make_worker()
        except BaseException as error:
            setup_failures.append(error)
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            close()
            return
        done = per_thread[index]
        failed = errors[index]
        clock = time.perf_counter
        try:
            while not stop.is_set():
                start = clock()
                try:
                    op()
                except Exception as error:
                    end = clock()
                    if window[0] <= end <= window[1]:
                        failed[type(error).__name__] += 1
                        if len(samples) < MAX_ERROR_SAMPLES:
                            samples.append(f"{type(error).__name__}: {str(error)[:300]}")
                    continue
                done.append((start, clock()))
        finally:
            close()

    pool = [threading.Thread(target=work, args=(i,), name=f"bench-{i}", daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        for thread in pool:
            thread.join(timeout=30)
        raise RuntimeError(f"a worker could not start: {setup_failures[0]!r}") from (
            setup_failures[0] if setup_failures else None
        )
    time.sleep(warmup)
    cpu_start = time.process_time()
    server_start = server_cpu() if server_cpu else None
    window[0] = time.perf_counter()
    time.sleep(duration)
    window[1] = time.perf_counter()
    cpu_used = time.process_time() - cpu_start
    server_end = server_cpu() if server_cpu else None
    stop.set()
    for thread in pool:
        thread.join(timeout=120)
    start, end = window
    latencies = [e - s for ops in per_thread for (s, e) in ops if start <= e <= end]
    total_errors: Counter[str] = Counter()
    for counter in errors:
        total_errors.update(counter)
    return from_latencies(
        threads=threads,
        seconds=end - start,
        latencies_s=latencies,
        tool="python-threads",
        errors=total_errors,
        error_samples=samples,
        extra={
            "client_cpu_ms_per_op": client_cpu_ms(cpu_used, len(latencies)),
            "server_cpu_ms_per_op": (
                None
                if server_start is None or server_end is None
                else client_cpu_ms(server_end - server_start, len(latencies))
            ),
        },
    )


def client_cpu_ms(cpu_seconds: float, ops: int) -> float | None:
    """CPU seconds spent per operation, in ms (for the client process: user + system time; on a
    box whose cores the client shares with the server, this is what Python costs per operation)."""
    return round(cpu_seconds / ops * 1000, 3) if ops else None


def median_point(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle one for an even count), with every
    run's ops/s beside it, so the spread is in the results too."""
    ordered = sorted(runs, key=lambda p: float(p["ops_per_s"]))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if len(runs) > 1:
        chosen["runs_ops_per_s"] = [p["ops_per_s"] for p in runs]
    return chosen
