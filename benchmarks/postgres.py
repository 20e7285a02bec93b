"""The PostgreSQL side: databases for the run, pgbench, and server facts for the results."""

from __future__ import annotations

import glob
import os
import re
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import psycopg
from attrs import evolve, frozen
from psycopg import sql

from benchmarks.measure import Measurement, client_cpu_ms, from_latencies

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gigcore_bench"
URL_ENV = "GIGCORE_BENCH_POSTGRES_URL"
# Databases the harness never creates, resets or writes to.
PROTECTED = frozenset({"test", "postgres", "template0", "template1"})


@frozen(kw_only=True)
class Server:
    """Where the benchmark databases live, parsed from a SQLAlchemy-style URL."""

    host: str
    port: int
    user: str
    password: str | None
    database: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if not parsed.drivername.startswith("postgresql"):
            raise ValueError(f"{URL_ENV} must be a postgresql:// URL, got {parsed.drivername}")
        return cls(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            database=parsed.database or "gigcore_bench",
        )

    def with_database(self, name: str) -> Server:
        return evolve(self, database=name)

    def sqlalchemy_url(self) -> str:
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.database,
        ).render_as_string(hide_password=False)

    def conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=self.database,
            **({"password": self.password} if self.password else {}),
        )

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo(), autocommit=autocommit)

    def cli_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def cli_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]


def check_not_protected(name: str) -> None:
    if name in PROTECTED or name.startswith("template"):
        raise SystemExit(f"refusing to use database {name!r} for benchmarks (it is protected); pick another name")


def ensure_database(server: Server, *, reset: bool) -> bool:
    """Create ``server.database`` through the ``postgres`` database if missing; with ``reset``,
    drop it first. Returns True if it was created now."""
    check_not_protected(server.database)
    with server.with_database("postgres").connect() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.database,)).fetchone()
        name = sql.Identifier(server.database)
        if exists and reset:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
            exists = None
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
            return True
    return False


def server_facts(server: Server) -> dict[str, Any]:
    with server.connect() as conn:
        facts: dict[str, Any] = {"version": conn.execute("SELECT version()").fetchone()[0]}  # type: ignore[index]
        for setting in (
            "server_version",
            "synchronous_commit",
            "fsync",
            "shared_buffers",
            "max_connections",
            "wal_level",
            "max_wal_size",
            "checkpoint_timeout",
        ):
            facts[setting] = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(setting))).fetchone()[0]  # type: ignore[index]
    facts["libpq"] = psycopg.pq.version()
    facts["host"], facts["port"] = server.host, server.port
    return facts


def server_cpu_clock(server: Server) -> Callable[[], float | None]:
    """CPU seconds used so far by the PostgreSQL server behind ``server`` (postmaster, its live
    children, and the children it has reaped), read from /proc: only for a server on this
    host. It counts every database of that server, so it is meaningful while nothing else
    uses the server. Returns a clock that answers None when /proc cannot tell."""
    postmaster: int | None = None
    if server.host in ("127.0.0.1", "localhost", "::1") or server.host.startswith("/"):
        try:
            with server.connect() as conn:
                backend = conn.info.backend_pid
            postmaster = _parent_pid(backend)
        except (OSError, psycopg.Error, ValueError):
            postmaster = None
    tick = os.sysconf("SC_CLK_TCK")

    def clock() -> float | None:
        if postmaster is None:
            return None
        try:
            own = _stat_fields(postmaster)
            total = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) != postmaster:
                    try:
                        fields = _stat_fields(int(entry))
                    except OSError:
                        continue  # exited meanwhile: its time moves to the parent's cutime
                    if int(fields[1]) == postmaster:
                        total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            return None
        return total / tick

    return clock


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: fields[0] is the state, [1] the parent pid,
    [11]/[12] utime/stime and [13]/[14] cutime/cstime, in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        text = stat.read()
    return text[text.rindex(")") + 2 :].split()


def _parent_pid(pid: int) -> int:
    return int(_stat_fields(pid)[1])


def checkpoint(server: Server) -> None:
    """Start each point from a clean checkpoint, so no layer pays for another's dirty pages."""
    with server.connect() as conn:
        conn.execute("CHECKPOINT")


# ---- pgbench -------------------------------------------------------------------------------


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found is None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
        if not candidates:
            raise SystemExit("pgbench not found (Debian: apt-get install postgresql-client)")
        found = candidates[-1]
    return found


def pgbench_version() -> str:
    done = subprocess.run([pgbench_binary(), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def pgbench_scale(server: Server) -> int | None:
    """The scale the pgbench tables hold now, or None when they are missing."""
    with server.connect() as conn:
        present = conn.execute("SELECT to_regclass('pgbench_branches') IS NOT NULL").fetchone()
        if not present or not present[0]:
            return None
        row = conn.execute("SELECT count(*) FROM pgbench_branches").fetchone()
        accounts = conn.execute("SELECT count(*) FROM pgbench_accounts").fetchone()
    if not row or not accounts or accounts[0] != row[0] * 100_000:
        return None
    return int(row[0])


def pgbench_init(server: Server, scale: int, *, force: bool) -> bool:
    """``pgbench -i -s scale`` unless the tables already hold that scale. Returns True if it ran."""
    ensure_database(server, reset=False)
    if not force and pgbench_scale(server) == scale:
        return False
    subprocess.run(
        [pgbench_binary(), *server.cli_args(), "-i", "-s", str(scale), "-q", server.database],
        env=server.cli_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return True


_TPS = re.compile(r"^tps = ([0-9.]+) \((?:without|excluding) initial connection", re.MULTILINE)
_TPS_ANY = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)
_FAILED = re.compile(r"number of failed transactions: (\d+)")
_LAT_AVG = re.compile(r"latency average = ([0-9.]+) ms")


def parse_pgbench_tps(output: str) -> float:
    """The tps pgbench reports without the initial connection time (PostgreSQL 10+ output)."""
    match = _TPS.search(output) or _TPS_ANY.search(output)
    if match is None:
        raise ValueError("no 'tps = ...' line in pgbench output")
    return float(match.group(1))


def parse_pgbench_log(paths: list[str]) -> list[float]:
    """Per-transaction latencies (seconds) from ``pgbench -l`` files: the third field is the
    transaction's elapsed time in microseconds."""
    latencies: list[float] = []
    for path in paths:
        with open(path, encoding="ascii") as log:
            for line in log:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1_000_000)
    return latencies


def run_pgbench(
    server: Server,
    *,
    clients: int,
    warmup: float,
    duration: float,
    server_cpu: Callable[[], float | None] | None = None,
) -> Measurement:
    """Built-in TPC-B-like script, prepared protocol, ``-j 2``; a short unlogged warm-up run first.

    Throughput is pgbench's own tps; p50/p99 come from its per-transaction log."""
    base = [pgbench_binary(), *server.cli_args(), "-c", str(clients), "-j", "2", "-M", "prepared"]
    if warmup > 0:
        subprocess.run(
            [*base, "-T", str(max(1, round(warmup))), server.database],
            env=server.cli_env(),
            check=True,
            capture_output=True,
            text=True,
        )
    with tempfile.TemporaryDirectory(prefix="gigcore-pgbench-") as logs:
        prefix = os.path.join(logs, "txn")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = server_cpu() if server_cpu else None
        done = subprocess.run(
            [*base, "-T", str(max(1, round(duration))), "-l", f"--log-prefix={prefix}", server.database],
            env=server.cli_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_after = server_cpu() if server_cpu else None
        latencies = parse_pgbench_log(sorted(glob.glob(prefix + "*")))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    tps = parse_pgbench_tps(done.stdout)
    failed = _FAILED.search(done.stdout)
    average = _LAT_AVG.search(done.stdout)
    return from_latencies(
        threads=clients,
        seconds=float(max(1, round(duration))),
        latencies_s=latencies,
        tool="pgbench",
        extra={
            "pgbench_tps": tps,
            # pgbench's own CPU (it also writes the per-transaction log) per transaction
            "client_cpu_ms_per_op": client_cpu_ms(cpu, len(latencies)),
            # pgbench's own start-up vacuum falls inside this window too (a few ms)
            "server_cpu_ms_per_op": None
            if server_before is None or server_after is None
            else client_cpu_ms(server_after - server_before, len(latencies)),
            "pgbench_latency_average_ms": float(average.group(1)) if average else None,
            "pgbench_failed": int(failed.group(1)) if failed else 0,
            "pgbench_args": f"-c {clients} -j 2 -M prepared -T {max(1, round(duration))}",
        },
        # pgbench's own tps (it excludes connection set-up) rather than the log's count
        reported_ops_per_s=tps,
    )
