"""Part ``events``: events per second end to end (commit -> outbox -> relay -> RabbitMQ ->
actor -> inbox) against a raw Dramatiq no-op actor on the same RabbitMQ, in the same run.

gigcore: ``count`` real ``ledger.funds_deposited`` events, made through the deposit use
case over ``wallets`` wallets on PostgreSQL, are hidden from the relay (``published_at``
set), ``gigcore worker`` (one process, ``worker_threads`` consumer threads, the ``noop``
test consumer whose whole effect is its inbox row) is started and idles, and then one
transaction makes every event pending at once: the clock runs from that commit until the
last inbox row is there. The outbox draining (relay) is timed on the side.

Baseline: the same number of messages of the same shape enqueued by ``lanes`` threads
(the relay's lane count) with publisher confirms on (what the relay needs), to one no-op
actor consumed by a ``dramatiq.Worker`` with the same thread count; the clock runs from
the first enqueue until the actor has processed them all.

Points alternate (baseline, gigcore, baseline, ...) and the median of each is reported.
Each run uses a fresh RabbitMQ vhost (made and deleted with ``rabbitmqctl``) and the
database ``<bench db>_events`` (reset).
"""

from __future__ import annotations

import functools
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from attrs import frozen

from benchmarks.postgres import Server, ensure_database, server_cpu_clock

Log = Callable[[str], None]

AMQP_URL_ENV = "GIGCORE_BENCH_AMQP_URL"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
ROOT = Path(__file__).resolve().parent.parent
NOOP_CONSUMER = "tests.support.consumers:noop"
DEPOSITED = "ledger.funds_deposited"
RELAY_LANES = 8  # adapters.messaging.publisher.DramatiqPublisher's default
QUICK_EVENTS = 1_000
FULL_EVENTS = 5_000


@frozen(kw_only=True)
class EventsOptions:
    server: Server  # the events database (reset)
    amqp_url: str  # the broker, default vhost; each run makes its own
    count: int
    wallets: int
    worker_threads: int
    repeat: int
    worker_processes: int = 1
    timeout_s: float = 300.0


# ---- CPU accounting (/proc: only for services on this host) -----------------------------------------


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) used so far by ``pid``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _sum_cpu(pids: tuple[int, ...]) -> float | None:
    used = [_proc_cpu(pid) for pid in pids]
    return None if not pids or None in used else sum(u for u in used if u is not None)


def _rabbitmq_pid() -> int | None:
    """The Erlang VM of the local RabbitMQ (``beam.smp``), if there is one."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", encoding="ascii", errors="replace") as comm:
                    if comm.read().strip() == "beam.smp":
                        return int(entry)
            except OSError:
                continue
    return None


class CpuMeter:
    """CPU seconds spent by the client process (gigcore's worker, or this process for the
    baseline), PostgreSQL (the whole server: other users of it count too; and the backends
    of the events database alone) and RabbitMQ between ``start()`` and ``stop()``;
    reported per event in milliseconds."""

    def __init__(self, server: Server) -> None:
        self._server = server
        rabbit = _rabbitmq_pid()
        self._clocks: dict[str, Callable[[], float | None]] = {
            "postgres": server_cpu_clock(server),
            "postgres_db": lambda: None,
            "rabbitmq": (lambda: _proc_cpu(rabbit)) if rabbit is not None else (lambda: None),
        }
        self._started: dict[str, float | None] = {}

    def _database_clock(self) -> Callable[[], float | None]:
        """CPU of the backends connected to the events database now (the worker's pool):
        unlike the whole server's, other users of the server do not count, and neither do the
        WAL writer and checkpointer."""
        try:
            with self._server.connect() as connection:
                rows = connection.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                ).fetchall()
        except Exception:
            return lambda: None
        pids = [int(row[0]) for row in rows]

        def clock() -> float | None:
            used = [_proc_cpu(pid) for pid in pids]
            return sum(u for u in used if u is not None) if pids else None

        return clock

    def start(self, client: Callable[[], float | None], *, database: bool = False) -> None:
        self._clocks["client"] = client
        self._clocks["postgres_db"] = self._database_clock() if database else (lambda: None)
        self._started = {name: clock() for name, clock in self._clocks.items()}

    def stop(self, events: int) -> dict[str, float | None]:
        used: dict[str, float | None] = {}
        for name, clock in self._clocks.items():
            now, then = clock(), self._started.get(name)
            used[f"{name}_cpu_ms_per_event"] = (
                None if now is None or then is None else round((now - then) * 1000 / events, 3)
            )
        return used


# ---- RabbitMQ -----------------------------------------------------------------------------------


def _rabbitmqctl(*args: str) -> None:
    done = subprocess.run(["rabbitmqctl", "--quiet", *args], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {args[0]} failed: {(done.stderr or done.stdout).strip()[:200]}")


@contextmanager
def fresh_vhost(amqp_url: str) -> Iterator[str]:
    """A new vhost on the broker (guest-like user of ``amqp_url`` gets every right), deleted
    afterwards; yields its URL."""
    vhost = f"gigcore-bench-{uuid.uuid4().hex[:8]}"
    user = urlsplit(amqp_url).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield amqp_url.rstrip("/") + "/" + vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _document(seq: int) -> dict[str, Any]:
    """A message body shaped like the relay's (``adapters.messaging.envelopes.encode``)."""
    return {
        "seq": seq,
        "event_id": f"evt_{uuid.uuid4().hex}",
        "name": DEPOSITED,
        "aggregate_id": f"wal_{seq % 64:032d}",
        "occurred_at": "2030-01-01T00:00:00+00:00",
        "payload": {"amount": {"minor": 100, "currency": "EUR"}, "wallet_id": "wal_x", "entry_id": "jen_x"},
    }


def run_baseline(
    amqp_url: str, *, count: int, threads: int, lanes: int, timeout_s: float, meter: CpuMeter | None = None
) -> dict[str, Any]:
    """Raw Dramatiq: ``count`` confirmed enqueues from ``lanes`` threads to a no-op actor,
    processed by a Worker with ``threads`` threads. Returns the measurement."""
    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=amqp_url, confirm_delivery=True)
    done = threading.Event()
    processed = [0]
    lock = threading.Lock()

    def noop(document: dict[str, Any]) -> None:
        with lock:
            processed[0] += 1
            if processed[0] >= count:
                done.set()

    actor: dramatiq.Actor[[dict[str, Any]], None] = dramatiq.actor(
        actor_name="bench_noop", queue_name="bench.noop", broker=broker, max_retries=0
    )(noop)
    broker.declare_queue(actor.queue_name)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    documents = [_document(i + 1) for i in range(count)]
    cpu: dict[str, float | None] = {}
    try:
        if meter is not None:
            meter.start(time.process_time)
        started = time.perf_counter()

        def publish(lane: int) -> None:
            for document in documents[lane::lanes]:
                actor.send(document)

        with ThreadPoolExecutor(max_workers=lanes) as pool:
            list(pool.map(publish, range(lanes)))
        enqueued = time.perf_counter() - started
        if not done.wait(timeout_s):
            raise RuntimeError(f"baseline: {processed[0]} of {count} processed after {timeout_s:.0f} s")
        seconds = time.perf_counter() - started
        if meter is not None:
            cpu = meter.stop(count)
    finally:
        worker.stop()
        broker.close()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(count / seconds, 1),
        "enqueue_seconds": round(enqueued, 3),
        **cpu,
    }


# ---- gigcore ------------------------------------------------------------------------------------


def prepare_events(options: EventsOptions, log: Log) -> float:
    """Reset the events database, migrate it, make ``count`` deposit events over ``wallets``
    wallets through the use cases, and hide them from the relay. Returns the seconds taken."""
    from core.identity.use_cases.create_user import CreateUserCommand
    from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand
    from core.ledger.use_cases.open_wallet import OpenWalletCommand
    from core.shared.actor import Actor, ActorKind, Persona
    from core.shared.ids import correlation_id, idempotency_key
    from core.shared.money import Currency, Money
    from entrypoints.container import build
    from entrypoints.settings import Settings

    started = time.perf_counter()
    ensure_database(options.server, reset=True)
    # A broker URL, so that this runtime leaves events to the worker (never set up here).
    runtime = build(
        Settings(
            database_url=options.server.sqlalchemy_url(),
            db_pool_size=8,
            auto_migrate="true",
            log_level="warning",
            broker_url="amqp://guest:guest@127.0.0.1:5672/unused",
        )
    )
    runtime.start()
    eur = Currency("EUR")
    use_cases = runtime.use_cases

    def keys() -> dict[str, Any]:
        return {"idempotency_key": idempotency_key(uuid.uuid4().hex), "correlation_id": correlation_id(None)}

    def party(index: int) -> tuple[Any, Any]:
        user = use_cases.create_user()(
            CreateUserCommand(
                by=Actor.system("bench"),
                handle=f"ev-{index:05d}",
                display_name=f"Events {index}",
                personas=frozenset({Persona.CLIENT}),
                **keys(),
            )
        )
        actor = Actor(ActorKind.USER, user.user_id, frozenset({Persona.CLIENT}))
        wallet = use_cases.open_wallet()(OpenWalletCommand(by=actor, currency=eur, **keys()))
        return actor, wallet.wallet_id

    deposit = use_cases.deposit_sandbox_funds()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            parties = list(pool.map(party, range(options.wallets)))

            def one(i: int) -> None:
                actor, wallet_id = parties[i % len(parties)]
                deposit(DepositSandboxFundsCommand(by=actor, wallet_id=wallet_id, amount=Money(100 + i, eur), **keys()))

            list(pool.map(one, range(options.count)))
    finally:
        runtime.stop()
    with options.server.connect() as connection:
        connection.execute("UPDATE outbox SET published_at = now() WHERE name = %s", (DEPOSITED,))
        connection.execute("VACUUM ANALYZE outbox")
    took = time.perf_counter() - started
    log(f"  events: {options.count} deposit events over {options.wallets} wallets made in {took:.1f} s")
    return took


class _Worker:
    """``gigcore worker`` as a subprocess, its log in a temporary file."""

    def __init__(self, database_url: str, broker_url: str, threads: int, log_path: Path, processes: int = 1) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCORE_")}
        env.update(
            GIGCORE_DATABASE_URL=database_url,
            GIGCORE_BROKER_URL=broker_url,
            GIGCORE_EXTRA_CONSUMERS=NOOP_CONSUMER,
            GIGCORE_WORKER_THREADS=str(threads),
            GIGCORE_WORKER_PROCESSES=str(processes),
            GIGCORE_WORKER_METRICS_PORT="0",
            GIGCORE_TIMER_INTERVAL_SECONDS="0",
            GIGCORE_LOG_LEVEL="warning",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])),
        )
        self.log_path = log_path
        self._out: IO[bytes] = log_path.open("wb")
        command = [sys.executable, "-m", "entrypoints.cli", "worker"]
        gigcore = Path(sys.executable).with_name("gigcore")
        if gigcore.exists():
            command = [str(gigcore), "worker"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT)

    def child_pids(self) -> list[int]:
        """The worker processes under the supervisor."""
        found: list[int] = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                        parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if parent == self.process.pid:
                    found.append(int(entry))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._out.close()


def _has_children(worker: _Worker) -> bool:
    return bool(worker.child_pids())


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval)


def _count(connection: Any, query: str) -> int:
    row = connection.execute(query).fetchone()
    return int(row[0])


def run_gigcore_round(
    options: EventsOptions,
    connection: Any,
    *,
    timeout_s: float,
    meter: CpuMeter | None = None,
    worker_pids: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Release every hidden deposit event in one commit (and forget the noop consumer's
    inbox rows, so each round delivers them all again), then time the pipeline."""

    def inbox() -> int:
        return _count(connection, "SELECT count(*) FROM inbox WHERE consumer = 'noop'")

    def pending() -> int:
        return _count(connection, "SELECT count(*) FROM outbox WHERE published_at IS NULL")

    with connection.transaction():
        connection.execute("DELETE FROM inbox WHERE consumer = 'noop'")
        connection.execute("UPDATE outbox SET published_at = NULL WHERE name = %s", (DEPOSITED,))
    if meter is not None:
        meter.start(lambda: _sum_cpu(worker_pids), database=True)
    started = time.perf_counter()
    relayed_at: list[float] = []

    def all_handled() -> bool:
        if not relayed_at and pending() == 0:
            relayed_at.append(time.perf_counter() - started)
        return inbox() >= options.count

    _wait(all_handled, timeout_s, f"{options.count} events in the noop consumer's inbox")
    seconds = time.perf_counter() - started
    cpu = meter.stop(options.count) if meter is not None else {}
    if not relayed_at:
        _wait(lambda: pending() == 0, timeout_s, "the outbox to drain")
        relayed_at.append(time.perf_counter() - started)
    return {
        "events": options.count,
        "seconds": round(seconds, 3),
        "events_per_s": round(options.count / seconds, 1),
        "relay_seconds": round(relayed_at[0], 3),
        "relay_events_per_s": round(options.count / relayed_at[0], 1),
        **cpu,
    }


def run_events(options: EventsOptions, log: Log) -> dict[str, Any]:
    """The whole part: prepare, then ``repeat`` alternating baseline/gigcore points."""
    import tempfile

    import psycopg

    prepare_seconds = prepare_events(options, log)
    meter = CpuMeter(options.server)
    baseline_runs: list[dict[str, Any]] = []
    gigcore_runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gigcore-bench-events-") as scratch:
        for round_number in range(options.repeat):
            with fresh_vhost(options.amqp_url) as vhost_url:
                point = run_baseline(
                    vhost_url,
                    count=options.count,
                    threads=options.worker_threads,
                    lanes=RELAY_LANES,
                    timeout_s=options.timeout_s,
                    meter=meter,
                )
                baseline_runs.append(point)
                log(f"  baseline (raw dramatiq) run {round_number + 1}: {point['events_per_s']:.0f} events/s")
            with options.server.connect() as connection:
                connection.execute("DELETE FROM worker_heartbeats")  # wait for this round's worker's own
            with fresh_vhost(options.amqp_url) as vhost_url:
                worker = _Worker(
                    options.server.sqlalchemy_url(),
                    vhost_url,
                    options.worker_threads,
                    Path(scratch) / f"worker-{round_number}.log",
                    processes=options.worker_processes,
                )
                try:
                    with psycopg.connect(options.server.conninfo(), autocommit=True) as connection:
                        _wait(
                            lambda: _count(connection, "SELECT count(*) FROM worker_heartbeats") > 0,
                            60,
                            "the worker's first heartbeat",
                            interval=0.1,
                        )
                        _wait(
                            lambda: _count(connection, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0,
                            60,
                            "the worker to relay the set-up events",
                            interval=0.1,
                        )
                        _wait(functools.partial(_has_children, worker), 10, "the worker process", interval=0.1)
                        time.sleep(0.5)  # consumers declared and idle
                        point = run_gigcore_round(
                            options,
                            connection,
                            timeout_s=options.timeout_s,
                            meter=meter,
                            worker_pids=tuple(worker.child_pids()),
                        )
                except Exception:
                    tail = worker.log_path.read_text(errors="replace")[-1500:]
                    log(f"  gigcore worker log (tail):\n{tail}")
                    raise
                finally:
                    worker.stop()
                gigcore_runs.append(point)
                log(
                    f"  gigcore run {round_number + 1}: {point['events_per_s']:.0f} events/s end to end "
                    f"(relay alone {point['relay_events_per_s']:.0f} events/s)"
                )
    return {
        "events": options.count,
        "wallets": options.wallets,
        "worker_threads": options.worker_threads,
        "worker_processes": options.worker_processes,
        "relay_lanes": RELAY_LANES,
        "prepare_seconds": round(prepare_seconds, 1),
        "points": {"baseline": _median(baseline_runs), "gigcore": _median(gigcore_runs)},
        # each round's gigcore over the baseline just before it: less sensitive to drift
        "ratio_per_round": [
            round(g["events_per_s"] / b["events_per_s"], 3) if b["events_per_s"] else None
            for b, g in zip(baseline_runs, gigcore_runs, strict=True)
        ],
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = dict(sorted(runs, key=lambda r: float(r["events_per_s"]))[len(runs) // 2])
    if len(runs) > 1:
        chosen["runs_events_per_s"] = [r["events_per_s"] for r in runs]
        chosen["median_of"] = len(runs)
        chosen["stdev_events_per_s"] = round(statistics.stdev(float(r["events_per_s"]) for r in runs), 1)
    return chosen


def events_ratios(section: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """gigcore's end-to-end events/s over raw Dramatiq's, and the target as data."""
    from benchmarks.report import ratio, target

    points = section.get("points", {})
    value = ratio(points.get("gigcore", {}).get("events_per_s"), points.get("baseline", {}).get("events_per_s"))
    where = f"events={section.get('events')}, worker_threads={section.get('worker_threads')}"
    return {"gigcore_over_raw_dramatiq": value}, [target("events.gigcore_over_raw_dramatiq", value, where=where)]


def format_events(section: dict[str, Any], ratios: dict[str, Any]) -> str:
    points = section["points"]
    base, gig = points["baseline"], points["gigcore"]
    lines = [
        f"events end to end ({section['events']} events, {section['wallets']} wallets, "
        f"{section['worker_threads']} worker threads, {section['relay_lanes']} relay lanes)",
        f"  raw dramatiq no-op actor : {base['events_per_s']:>9.1f} events/s",
        f"  gigcore commit->inbox    : {gig['events_per_s']:>9.1f} events/s "
        f"(relay alone {gig['relay_events_per_s']:.1f}/s)",
        f"  ratio gigcore / raw      : {ratios['gigcore_over_raw_dramatiq']}"
        f" (per round: {section.get('ratio_per_round')})",
        "  CPU ms per event          client  postgres  (its db)  rabbitmq",
    ]
    for name, point in (("raw dramatiq", base), ("gigcore", gig)):
        cells = [point.get(f"{part}_cpu_ms_per_event") for part in ("client", "postgres", "postgres_db", "rabbitmq")]
        lines.append(f"    {name:<22}" + "".join(f"{'-' if c is None else format(c, '.3f'):>10}" for c in cells))
    return "\n".join(lines)


def default_count(quick: bool) -> int:
    return QUICK_EVENTS if quick else FULL_EVENTS


def amqp_url() -> str:
    return os.environ.get(AMQP_URL_ENV, DEFAULT_AMQP_URL)
