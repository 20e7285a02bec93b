"""A small HTTP/1.1 keep-alive load generator on raw asyncio sockets: the fallback when wrk
is not installed. Closed loop: each connection sends a request, reads the whole response,
sends the next. Bounded by time and by a request count; loopback targets only.

It is slower than wrk (it is Python, and shares the cores with the server), so figures taken
with it are lower bounds of what the server can do; ratios between two endpoints measured
with it in the same run remain comparable.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from benchmarks.measure import Measurement, from_latencies

MAX_HEADER_BYTES = 64 * 1024


def check_loopback(host: str) -> None:
    """Load is only ever sent to this machine."""
    if host == "localhost":
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing to send load to {host}: loopback addresses only")


def build_request(host: str, port: int, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, server wants the connection closed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("response header too large")
    status_line, _, rest = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length: int | None = None
    chunked = close = False
    for raw in rest.split(b"\r\n"):
        name, _, value = raw.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif key == b"connection" and b"close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


class _Run:
    def __init__(self, max_requests: int) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.sent = 0
        self.max_requests = max_requests
        self.window = (float("inf"), float("inf"))

    def counting(self, end: float) -> bool:
        return self.window[0] <= end <= self.window[1]


async def _connection(host: str, port: int, request: bytes, run: _Run, deadline: float) -> None:
    clock = time.perf_counter
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while clock() < deadline and run.sent < run.max_requests:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            run.sent += 1
            start = clock()
            try:
                writer.write(request)
                status, close = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
                if run.counting(clock()):
                    run.errors[type(error).__name__] += 1
                    if len(run.samples) < 5:
                        run.samples.append(f"{type(error).__name__}: {error}")
                writer.close()
                writer = None
                continue
            end = clock()
            if run.counting(end):
                run.statuses[status] += 1
                if 200 <= status < 300:
                    run.latencies.append(end - start)
                else:
                    run.errors[f"http_{status}"] += 1
            if close:
                writer.close()
                writer = None
    finally:
        if writer is not None:
            writer.close()


async def _drive(
    host: str,
    port: int,
    path: str,
    headers: Mapping[str, str],
    *,
    connections: int,
    warmup: float,
    duration: float,
    max_requests: int,
) -> tuple[_Run, float]:
    request = build_request(host, port, path, headers)
    run = _Run(max_requests)
    begin = time.perf_counter()
    run.window = (begin + warmup, begin + warmup + duration)
    deadline = run.window[1]
    tasks = [asyncio.create_task(_connection(host, port, request, run, deadline)) for _ in range(connections)]
    await asyncio.gather(*tasks)
    # a request-count bound may stop the run early: measure only the time actually used
    seconds = min(time.perf_counter(), run.window[1]) - run.window[0]
    return run, max(seconds, 1e-9)


def measure(
    host: str,
    port: int,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    connections: int = 32,
    warmup: float = 2.0,
    duration: float = 10.0,
    max_requests: int = 2_000_000,
) -> Measurement:
    """Closed-loop GETs of ``path`` over ``connections`` keep-alive connections; 2xx responses
    count as operations, anything else as errors."""
    check_loopback(host)
    loop_name = "asyncio"
    try:
        import uvloop

        runner: Any = asyncio.Runner(loop_factory=uvloop.new_event_loop)
        loop_name = "uvloop"
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        run, seconds = runner.run(
            _drive(
                host,
                port,
                path,
                headers or {},
                connections=connections,
                warmup=warmup,
                duration=duration,
                max_requests=max_requests,
            )
        )
    return from_latencies(
        threads=connections,
        seconds=seconds,
        latencies_s=run.latencies,
        tool=f"python-asyncio-loadgen ({loop_name})",
        errors=run.errors,
        error_samples=run.samples,
        extra={"connections": connections, "statuses": {str(k): v for k, v in sorted(run.statuses.items())}},
    )
