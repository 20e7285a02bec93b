"""Part 2: HTTP. ``gigcore serve`` as a subprocess on a free loopback port over a fresh
embedded SQLite database; a user, token and funded wallet; then the same load on a trivial
endpoint and on an authenticated balance read, in the same run, on the same server."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrs import frozen

from benchmarks import loadgen
from benchmarks.measure import Measurement, from_latencies, median_point

Log = Callable[[str], None]
HOST = "127.0.0.1"
LIVE_PATH = "/health/live"
CURRENCY = "USD"
FUNDING_MINOR = 100_000
START_TIMEOUT_S = 60.0
CLI_TIMEOUT_S = 120.0


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def gigcore_command() -> list[str]:
    """The installed ``gigcore`` script next to this interpreter, else the same entry point
    through ``python -c`` (a source checkout without an install)."""
    beside = Path(sys.executable).with_name("gigcore")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("gigcore")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from entrypoints.cli.main import main; sys.exit(main())"]


# ---- the server --------------------------------------------------------------------------------


@frozen
class RunningServer:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    env: Mapping[str, str]
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCORE_")}
    env.update({"GIGCORE_DATABASE_URL": database_url, "GIGCORE_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"})
    if not database_url.startswith("sqlite"):
        env["GIGCORE_AUTO_MIGRATE"] = "true"
    return env


@contextmanager
def serve(database_url: str, workdir: Path, log: Log) -> Iterator[RunningServer]:
    """Start ``gigcore serve`` and wait for /health/live; always stop it (SIGINT, then SIGTERM,
    then SIGKILL, to this one process only)."""
    port = free_port()
    env = server_env(database_url)
    log_path = workdir / "server.log"
    command = [*gigcore_command(), "serve", "--host", HOST, "--port", str(port)]
    with open(log_path, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    server = RunningServer(process, HOST, port, env, log_path)
    try:
        _wait_ready(server)
        log(f"  server up: {' '.join(command[-5:])} (pid {process.pid})")
        yield server
    finally:
        _stop(process)


def _wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gigcore serve exited with {server.process.returncode}: {_tail(server.log_path)}")
        try:
            with urllib.request.urlopen(server.url(LIVE_PATH), timeout=2) as response:  # loopback only
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gigcore serve did not answer {LIVE_PATH} in {START_TIMEOUT_S:g} s: {_tail(server.log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGTERM, 5)):
        process.send_signal(sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait(timeout=5)


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no log)"


# ---- setup: user, token, funded wallet -----------------------------------------------------------

_USER_ID = re.compile(r"\busr_[0-9a-f]{32}\b")
_TOKEN = re.compile(r"\bgct_[A-Za-z0-9_\-]{20,}")
_WALLET_ID = re.compile(r"\bwal_[0-9a-f]{32}\b")


def run_cli(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [*gigcore_command(), *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        detail = done.stderr[-1500:] or done.stdout[-1500:]
        raise RuntimeError(f"gigcore {' '.join(args)} exited {done.returncode}: {detail}")
    return done.stdout


def _first(pattern: re.Pattern[str], text: str, what: str) -> str:
    match = pattern.search(text)
    if match is None:
        raise RuntimeError(f"no {what} in the CLI's answer: {text[-600:]!r}")
    return match.group(0)


@frozen
class Fixture:
    user_id: str
    token: str
    wallet_id: str
    how: str


def setup_via_cli(env: Mapping[str, str], cwd: Path) -> Fixture:
    """A client user with a token and a funded USD wallet, all through the CLI as an operator
    would do it (before the server starts, so SQLite sees one writer at a time): the wallet is
    opened and funded by a staff user (admin + finance) with ``gigcore run``."""
    tag = uuid.uuid4().hex[:8]
    owner, staff = f"bench-{tag}", f"bench-ops-{tag}"
    out = run_cli(["users", "create", owner, "--name", "HTTP bench", "--persona", "client"], env, cwd)
    user_id = _first(_USER_ID, out, "user id")
    run_cli(["users", "create", staff, "--name", "Bench ops", "--persona", "admin", "--persona", "finance"], env, cwd)
    out = run_cli(["tokens", "issue", owner, "--label", "bench", "--no-expiry"], env, cwd)
    token = _first(_TOKEN, out, "token")
    out = run_cli(
        ["run", "open-wallet", "--as", staff, "--json", json.dumps({"currency": CURRENCY, "owner_id": user_id})],
        env,
        cwd,
    )
    wallet_id = _first(_WALLET_ID, out, "wallet id")
    run_cli(
        [
            "run",
            "deposit-sandbox-funds",
            "--as",
            staff,
            "--json",
            json.dumps({"wallet_id": wallet_id, "amount": {"minor": FUNDING_MINOR, "currency": CURRENCY}}),
        ],
        env,
        cwd,
    )
    return Fixture(user_id=user_id, token=token, wallet_id=wallet_id, how="cli")


def http_json(method: str, url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method)  # a loopback URL built here
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def check_balance(server: RunningServer, token: str, wallet_id: str) -> Any:
    status, body = http_json("GET", server.url(f"/v1/wallets/{wallet_id}/balance"), token)
    if status != 200:
        raise RuntimeError(f"GET /v1/wallets/{wallet_id}/balance answered {status}: {body}")
    return body


# ---- load generators ------------------------------------------------------------------------------

_install_tried = [False]


def find_wrk(*, may_install: bool, log: Log) -> str | None:
    """wrk on PATH; if missing and allowed, one ``apt-get install -y wrk`` attempt per run."""
    found = shutil.which("wrk")
    if found or not may_install or _install_tried[0]:
        return found
    _install_tried[0] = True
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None
    log("  wrk not found: trying apt-get install -y wrk (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*args: str) -> int:
        return subprocess.run([apt, *args], env=env, capture_output=True, timeout=300, check=False).returncode

    if apt_get("install", "-y", "-qq", "wrk") != 0:
        apt_get("update", "-qq")
        apt_get("install", "-y", "-qq", "wrk")
    return shutil.which("wrk")


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    text = (done.stdout or done.stderr).strip()
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer" -> "wrk debian/4.1.0-3+b2 [epoll]"
    return text.splitlines()[0].split(" Copyright")[0] if text else "wrk"


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_RPS = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m)", re.MULTILINE)
_DIST = re.compile(r"^\s+(50|75|90|99)(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_AVG = re.compile(r"^\s+Latency\s+([0-9.]+)(us|ms|s|m)", re.MULTILINE)
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/sec, request count, latency percentiles (ms) and errors from ``wrk --latency``."""
    rps = _RPS.search(output)
    if rps is None:
        raise ValueError("no Requests/sec line in wrk output")
    total = _TOTAL.search(output)
    dist = {f"p{m.group(1)}_ms": float(m.group(2)) * _UNIT[m.group(3)] for m in _DIST.finditer(output)}
    avg = _AVG.search(output)
    non2xx = _NON2XX.search(output)
    sock = _SOCKET.search(output)
    return {
        "requests_per_s": float(rps.group(1)),
        "requests": int(total.group(1)) if total else None,
        "seconds": float(total.group(2)) * _UNIT[total.group(3)] / 1000 if total else None,
        "mean_ms": float(avg.group(1)) * _UNIT[avg.group(2)] if avg else None,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
        if sock
        else {},
        **dist,
    }


def measure_wrk(
    wrk: str, url: str, headers: Mapping[str, str], *, connections: int, warmup: float, duration: float
) -> Measurement:
    base = [wrk, "-t1", f"-c{connections}", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        base += ["-H", f"{name}: {value}"]
    if warmup > 0:
        subprocess.run(
            [*base, f"-d{max(1, round(warmup))}s", url], capture_output=True, check=False, timeout=warmup + 60
        )
    seconds = max(1, round(duration))
    done = subprocess.run(
        [*base, f"-d{seconds}s", url], capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    parsed = parse_wrk(done.stdout)
    errors = {"http_non_2xx": parsed["non_2xx"]} if parsed["non_2xx"] else {}
    errors.update({f"socket_{k}": v for k, v in parsed["socket_errors"].items() if v})
    from collections import Counter

    base_measurement = from_latencies(
        threads=connections,
        seconds=parsed["seconds"] or float(seconds),
        latencies_s=[],
        tool="wrk",
        errors=Counter(errors),
        extra={"connections": connections, "wrk": parsed},
        reported_ops_per_s=parsed["requests_per_s"],
    )
    from attrs import evolve

    return evolve(
        base_measurement,
        ops=parsed["requests"] or 0,
        p50_ms=parsed.get("p50_ms"),
        p99_ms=parsed.get("p99_ms"),
        mean_ms=parsed.get("mean_ms"),
    )


# ---- the whole part ----------------------------------------------------------------------------------


@frozen(kw_only=True)
class HttpOptions:
    connections: int
    warmup: float
    duration: float
    load_generator: str = "auto"  # auto | wrk | python
    may_install_wrk: bool = True
    max_requests: int = 2_000_000
    # None: the embedded SQLite default in a temp dir. A postgresql URL: that database is reset
    # for the run and the server migrates it (GIGCORE_AUTO_MIGRATE=true).
    postgres_url: str | None = None
    repeat: int = 1


def run_http(options: HttpOptions, log: Log) -> dict[str, Any]:
    wrk: str | None = None
    if options.load_generator in ("auto", "wrk"):
        wrk = find_wrk(may_install=options.may_install_wrk, log=log)
        if wrk is None and options.load_generator == "wrk":
            raise SystemExit("--load-generator wrk: wrk is not installed")
    tool = (
        f"wrk ({wrk_version(wrk)}), -t1" if wrk else "python asyncio keep-alive load generator (benchmarks/loadgen.py)"
    )
    store = "embedded SQLite in a temp dir" if options.postgres_url is None else "PostgreSQL (reset, migrated)"
    section: dict[str, Any] = {
        "server": f"gigcore serve (its defaults), {store}, GIGCORE_LOG_LEVEL=warning",
        "database": "sqlite" if options.postgres_url is None else "postgresql",
        "load_generator": tool,
        "connections": options.connections,
        "warmup_s": options.warmup,
        "duration_s": options.duration,
    }
    with tempfile.TemporaryDirectory(prefix="gigcore-http-bench-") as tmp:
        workdir = Path(tmp)
        database_url = options.postgres_url or f"sqlite:///{workdir / 'gigcore.sqlite3'}"
        env = server_env(database_url)
        fixture = setup_via_cli(env, workdir)
        token, wallet_id = fixture.token, fixture.wallet_id
        with serve(database_url, workdir, log) as server:
            section["fixture"] = {
                "user_id": fixture.user_id,
                "wallet_id": wallet_id,
                "created_via": fixture.how,
                "balance_answer": check_balance(server, token, wallet_id),
            }
            auth = {"Authorization": f"Bearer {token}"}
            runs: dict[str, list[dict[str, Any]]] = {"live": [], "balance": []}
            endpoints: tuple[tuple[str, str, dict[str, str]], ...] = (
                ("live", LIVE_PATH, {}),
                ("balance", f"/v1/wallets/{wallet_id}/balance", auth),
            )
            # alternate the endpoints, so drift on a noisy box hits both alike
            for (key, path, headers), repeat in ((e, r) for r in range(options.repeat) for e in endpoints):
                if wrk:
                    measured = measure_wrk(
                        wrk,
                        server.url(path),
                        headers,
                        connections=options.connections,
                        warmup=options.warmup,
                        duration=options.duration,
                    )
                else:
                    measured = loadgen.measure(
                        HOST,
                        server.port,
                        path,
                        headers,
                        connections=options.connections,
                        warmup=options.warmup,
                        duration=options.duration,
                        max_requests=options.max_requests,
                    )
                runs[key].append(
                    {
                        "path": path.replace(wallet_id, "{id}"),
                        **measured.as_dict(),
                        "loadavg_1m_after": round(os.getloadavg()[0], 2),
                    }
                )
                log(
                    f"  {path.replace(wallet_id, '{id}'):<30} {measured.ops_per_s:>9.1f} req/s  "
                    f"p50={measured.p50_ms or 0:.2f} ms  p99={measured.p99_ms or 0:.2f} ms  errors={measured.errors}"
                    + (f"  (run {repeat + 1}/{options.repeat})" if options.repeat > 1 else "")
                )
            for key, done in runs.items():
                section[key] = median_point(done)
            if server.process.poll() is not None:
                section["server_exit"] = server.process.returncode
            section["server_log_tail"] = _tail(server.log_path, 800)
    return section
