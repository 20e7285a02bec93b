"""Part 1: the ledger on PostgreSQL, three layers on the same server in the same run.

a. pgbench's built-in TPC-B-like script (the C ceiling);
b. the same five statements from raw psycopg 3, one connection per thread (the Python ceiling);
c. gigcore's TransferFunds use case through the SQL adapter and the composition root;
d. (layer ``escrow``) gigcore's escrow commands fund -> submit -> approve (benchmarks/escrow.py).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
from attrs import define, evolve, frozen

from benchmarks.measure import CpuClock, Measurement, Op, median_point, run_closed_loop
from benchmarks.postgres import (
    Server,
    checkpoint,
    ensure_database,
    pgbench_init,
    run_pgbench,
    server_cpu_clock,
)

Log = Callable[[str], None]

# ---- b. raw psycopg 3 TPC-B-like ----------------------------------------------------------------

Q_UPDATE_ACCOUNT = "UPDATE pgbench_accounts SET abalance = abalance + %(delta)s WHERE aid = %(aid)s"
Q_SELECT_ACCOUNT = "SELECT abalance FROM pgbench_accounts WHERE aid = %(aid)s"
Q_UPDATE_TELLER = "UPDATE pgbench_tellers SET tbalance = tbalance + %(delta)s WHERE tid = %(tid)s"
Q_UPDATE_BRANCH = "UPDATE pgbench_branches SET bbalance = bbalance + %(delta)s WHERE bid = %(bid)s"
Q_INSERT_HISTORY = (
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
    "VALUES (%(tid)s, %(bid)s, %(aid)s, %(delta)s, CURRENT_TIMESTAMP)"
)


def pgbench_housekeeping(server: Server) -> None:
    """What pgbench does before each run by default, so raw psycopg starts from the same state."""
    with server.connect() as conn:
        conn.execute("VACUUM pgbench_branches")
        conn.execute("VACUUM pgbench_tellers")
        conn.execute("TRUNCATE pgbench_history")


def raw_tpcb_worker(server: Server, scale: int) -> Callable[[], tuple[Op, Callable[[], None]]]:
    """One connection per thread; the five statements of pgbench's tpcb-like in one transaction.
    psycopg prepares a statement server-side after its 5th use (like ``-M prepared``)."""

    def make() -> tuple[Op, Callable[[], None]]:
        conn = server.connect(autocommit=False)
        rng = random.Random()
        cursor = conn.cursor()

        def op() -> None:
            params = {
                "aid": rng.randint(1, 100_000 * scale),
                "bid": rng.randint(1, scale),
                "tid": rng.randint(1, 10 * scale),
                "delta": rng.randint(-5000, 5000),
            }
            with conn.transaction():
                cursor.execute(Q_UPDATE_ACCOUNT, params)
                cursor.execute(Q_SELECT_ACCOUNT, params)
                cursor.fetchone()
                cursor.execute(Q_UPDATE_TELLER, params)
                cursor.execute(Q_UPDATE_BRANCH, params)
                cursor.execute(Q_INSERT_HISTORY, params)

        return op, conn.close

    return make


# ---- c. gigcore transfers --------------------------------------------------------------------------

CURRENCY = "USD"
FUNDING_MINOR = 10**9  # per wallet; transfers move 1..100 minor units, so none ever runs dry


def wallets_for_scale(scale: int) -> int:
    """How many wallets make a transfer's contention resemble pgbench's at ``scale``.

    pgbench's transaction locks 1 of ``scale`` branch rows and 1 of ``10 x scale`` teller rows
    (accounts are too many to meet). A gigcore transfer locks 1 of ``audit_chains`` (8) chain
    heads, which plays the branch, and 2 of W wallets. With W = 20 x scale every wallet row is
    hit as often as a teller row (2/W = 1/(10 x scale))."""
    return 20 * scale


@frozen
class Party:
    actor: Any  # core.shared.actor.Actor
    wallet_id: str


@define
class GigcoreLedger:
    runtime: Any  # entrypoints.container.Runtime
    parties: list[Party]
    setup_seconds: float


def prepare_gigcore(
    server: Server, *, wallets: int, pool_size: int, log: Log, audit_chains: int | None = None
) -> GigcoreLedger:
    """Reset the gigcore database, migrate it, and open + fund ``wallets`` wallets, each owned
    by its own user, through the use cases (the same paths production takes)."""
    from core.identity.use_cases.create_user import CreateUserCommand
    from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand
    from core.ledger.use_cases.open_wallet import OpenWalletCommand
    from core.shared.actor import Actor, ActorKind, Persona
    from core.shared.ids import correlation_id, idempotency_key
    from core.shared.money import Currency, Money
    from entrypoints.container import build
    from entrypoints.settings import Settings

    started = time.perf_counter()
    ensure_database(server, reset=True)
    settings = Settings(
        database_url=server.sqlalchemy_url(), db_pool_size=pool_size, auto_migrate="false", log_level="warning"
    )
    if audit_chains is not None:
        settings = evolve(settings, audit_chains=audit_chains)
    runtime = build(settings)
    runtime.start()
    runtime.migrate()
    system = Actor.system("bench")
    usd = Currency(CURRENCY)
    use_cases = runtime.use_cases

    def envelope() -> dict[str, Any]:
        return {"idempotency_key": idempotency_key(uuid.uuid4().hex), "correlation_id": correlation_id(None)}

    def one(index: int) -> Party:
        user = use_cases.create_user()(
            CreateUserCommand(
                by=system,
                handle=f"bench-{index:05d}",
                display_name=f"Bench {index}",
                personas=frozenset({Persona.CLIENT}),
                **envelope(),
            )
        )
        actor = Actor(ActorKind.USER, user.user_id, frozenset({Persona.CLIENT}))
        wallet = use_cases.open_wallet()(OpenWalletCommand(by=actor, currency=usd, **envelope()))
        use_cases.deposit_sandbox_funds()(
            DepositSandboxFundsCommand(
                by=actor, wallet_id=wallet.wallet_id, amount=Money(FUNDING_MINOR, usd), **envelope()
            )
        )
        return Party(actor, wallet.wallet_id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        parties = list(pool.map(one, range(wallets)))
    took = time.perf_counter() - started
    log(f"  gigcore: {wallets} users + funded wallets ready in {took:.1f} s")
    return GigcoreLedger(runtime, parties, took)


def transfer_worker(ledger: GigcoreLedger) -> Callable[[], tuple[Op, Callable[[], None]]]:
    from core.ledger.use_cases.transfer_funds import TransferFundsCommand
    from core.shared.ids import AccountId, correlation_id, idempotency_key
    from core.shared.money import Currency, Money

    transfer = ledger.runtime.use_cases.transfer_funds()
    parties = ledger.parties
    usd = Currency(CURRENCY)

    def make() -> tuple[Op, Callable[[], None]]:
        rng = random.Random()

        def op() -> None:
            source, target = rng.sample(parties, 2)
            transfer(
                TransferFundsCommand(
                    by=source.actor,
                    idempotency_key=idempotency_key(uuid.uuid4().hex),
                    correlation_id=correlation_id(None),
                    from_wallet_id=AccountId(source.wallet_id),
                    to_wallet_id=AccountId(target.wallet_id),
                    amount=Money(rng.randint(1, 100), usd),
                )
            )

        return op, lambda: None

    return make


def vacuum_analyze(server: Server) -> None:
    with server.connect() as conn:
        conn.execute("VACUUM ANALYZE")


def sqlalchemy_engine(runtime: Any) -> Any | None:
    """The runtime's SQLAlchemy engine, if its persistence ring has one."""
    try:
        from sqlalchemy.engine import Engine

        engine = runtime.persistence.engine()
    except Exception:
        return None
    return engine if isinstance(engine, Engine) else None


def count_statements(ledger: GigcoreLedger, *, transfers: int) -> dict[str, Any]:
    """Run ``transfers`` transfers on one thread with a listener counting what the adapter
    sends: statements (cursor executes) and transactions; round trips ~ statements + BEGIN +
    COMMIT. Diagnostic only: it runs outside every timed window."""
    from sqlalchemy import event

    engine = sqlalchemy_engine(ledger.runtime)
    if engine is None:
        return {"available": False}
    shapes: Counter[str] = Counter()
    counts = Counter[str]()

    def on_execute(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool) -> None:
        counts["statements"] += 1
        if executemany:
            counts["executemany"] += 1
        shapes[" ".join(statement.split())[:110]] += 1

    def on_begin(_conn: Any) -> None:
        counts["begin"] += 1

    def on_commit(_conn: Any) -> None:
        counts["commit"] += 1

    def on_rollback(_conn: Any) -> None:
        counts["rollback"] += 1

    hooks: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", on_execute),
        ("begin", on_begin),
        ("commit", on_commit),
        ("rollback", on_rollback),
    ]
    for name, hook in hooks:
        event.listen(engine, name, hook)
    make = transfer_worker(ledger)
    op, close = make()
    started = time.perf_counter()
    try:
        for _ in range(transfers):
            op()
    finally:
        took = time.perf_counter() - started
        for name, hook in hooks:
            event.remove(engine, name, hook)
        close()
    per = {key: round(value / transfers, 2) for key, value in counts.items()}
    # a pre-pinged pool sends one more query at every checkout, which no listener above sees
    pre_ping = bool(getattr(engine.pool, "_pre_ping", False))
    return {
        "available": True,
        "transfers": transfers,
        "per_transfer": per,
        "pool_pre_ping": pre_ping,
        "round_trips_per_transfer_estimate": round(
            (counts["statements"] + counts["begin"] + counts["commit"] + counts["rollback"]) / transfers
            + (1 if pre_ping else 0),
            2,
        ),
        "statement_shapes_per_transfer": {
            shape: round(count / transfers, 2) for shape, count in shapes.most_common(25)
        },
        "single_thread_ops_per_s_with_listener": round(transfers / took, 1),
    }


# ---- server activity sampling (lock waits) -------------------------------------------------------


@contextmanager
def activity_sampler(server: Server, database: str, *, every: float = 0.2) -> Iterator[dict[str, Any]]:
    """Sample pg_stat_activity for ``database`` while the block runs: how many backends are on
    average running, waiting on a lock, waiting for the client, or idle in a transaction.
    The summary is filled into the yielded dict when the block ends."""
    summary: dict[str, Any] = {}
    stop = threading.Event()
    tallies: Counter[str] = Counter()
    samples = [0]

    def sample() -> None:
        with server.connect() as conn:
            me = conn.info.backend_pid
            while not stop.wait(every):
                rows = conn.execute(
                    "SELECT state, coalesce(wait_event_type, 'CPU'), wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> %s AND backend_type = 'client backend'",
                    (database, me),
                ).fetchall()
                samples[0] += 1
                for state, wait_type, wait_event in rows:
                    if state == "active":
                        tallies[f"active:{wait_type}" + (f":{wait_event}" if wait_type == "Lock" else "")] += 1
                    elif state == "idle in transaction":
                        tallies["idle_in_transaction"] += 1
                    else:
                        tallies[str(state)] += 1

    thread = threading.Thread(target=sample, name="bench-activity", daemon=True)
    thread.start()
    try:
        yield summary
    finally:
        stop.set()
        thread.join(timeout=10)
        n = max(samples[0], 1)
        summary["samples"] = samples[0]
        summary["mean_backends"] = {key: round(value / n, 2) for key, value in sorted(tallies.items())}


# ---- the whole part -------------------------------------------------------------------------------


@frozen(kw_only=True)
class LedgerOptions:
    server: Server  # the gigcore database (reset per run)
    pgbench_database: str
    scale: int
    threads: Sequence[int]
    warmup: float
    duration: float
    wallets: int
    reinit_pgbench: bool = False
    layers: Sequence[str] = ("pgbench", "psycopg", "gigcore")
    statement_sample: int = 200
    audit_chains: int | None = None  # None: gigcore's default setting
    repeat: int = 1
    escrow_pairs: int = 64  # client/provider pairs of the escrow layer (database <db>_escrow)


def run_ledger(options: LedgerOptions, log: Log) -> dict[str, Any]:
    """Every layer at every thread count, interleaved per thread count so that drift on a noisy
    VM hits all layers alike. Returns the ``ledger`` section of the result document."""
    pgbench_server = options.server.with_database(options.pgbench_database)
    section: dict[str, Any] = {
        "scale": options.scale,
        "pgbench_database": options.pgbench_database,
        "gigcore_database": options.server.database,
        "warmup_s": options.warmup,
        "duration_s": options.duration,
        "threads": list(options.threads),
        "layers": list(options.layers),
        "points": {layer: [] for layer in options.layers},
    }
    needs_pgbench_tables = "pgbench" in options.layers or "psycopg" in options.layers
    if needs_pgbench_tables:
        started = time.perf_counter()
        ran = pgbench_init(pgbench_server, options.scale, force=options.reinit_pgbench)
        log(
            f"  pgbench tables at scale {options.scale}: "
            + (f"initialised in {time.perf_counter() - started:.1f} s" if ran else "already there, reused")
        )
    ledger: GigcoreLedger | None = None
    if "gigcore" in options.layers:
        pool = max(options.threads) + 2
        ledger = prepare_gigcore(
            options.server, wallets=options.wallets, pool_size=pool, log=log, audit_chains=options.audit_chains
        )
        section["gigcore_setup"] = {
            "wallets": options.wallets,
            "users": options.wallets,
            "funding_minor_per_wallet": FUNDING_MINOR,
            "currency": CURRENCY,
            "transfer_amount_minor": "uniform 1..100",
            "pool_size": pool,
            "audit_chains": ledger.runtime.settings.audit_chains,
            "setup_seconds": round(ledger.setup_seconds, 1),
            "contention_note": (
                f"{options.wallets} wallets = 20 x scale {options.scale}: each wallet row is locked as often "
                f"as a pgbench teller row (2/{options.wallets} = 1/{10 * options.scale} per transaction); the "
                f"{ledger.runtime.settings.audit_chains} audit chain heads play the role of pgbench's "
                f"{options.scale} branch rows"
            ),
        }
    escrow_fixture: Any = None
    escrow_server = options.server.with_database(f"{options.server.database}_escrow")
    if "escrow" in options.layers:
        from benchmarks import escrow as escrow_part

        ensure_database(escrow_server, reset=True)
        escrow_fixture = escrow_part.prepare_escrow(
            escrow_server.sqlalchemy_url(),
            pairs=options.escrow_pairs,
            pool_size=max(options.threads) + 2,
            log=log,
            label="postgres",
        )
        section["escrow_setup"] = {
            "database": escrow_server.database,
            "op": "one escrow command (fund, submit or approve), each its own transaction; a full cycle = 3 ops",
            "pairs": options.escrow_pairs,
            "milestones_per_contract": escrow_part.MILESTONES_PER_CONTRACT,
            "milestone_minor": escrow_part.MILESTONE_MINOR,
            "pool_size": max(options.threads) + 2,
            "audit_chains": escrow_fixture.runtime.settings.audit_chains,
            "setup_seconds": round(escrow_fixture.setup_seconds, 1),
            "contracts_note": (
                "ACTIVE contracts (create + accept through the use cases) are made before each point, outside "
                "the window; each thread walks one contract's milestones fund -> submit -> approve; "
                "inline_contracts counts contracts a worker had to create inside the point"
            ),
        }
    escrow_rate = [600.0]
    server_cpu = server_cpu_clock(options.server)
    section["server_cpu_measured"] = server_cpu() is not None
    try:
        for threads in options.threads:
            runs: dict[str, list[dict[str, Any]]] = {layer: [] for layer in options.layers}
            for repeat in range(options.repeat):
                for layer in options.layers:
                    if layer == "escrow":
                        point = _escrow_point(threads, options, escrow_server, escrow_fixture, server_cpu, escrow_rate)
                    else:
                        point = _one_point(layer, threads, options, pgbench_server, ledger, server_cpu)
                    runs[layer].append(point)
                    log(
                        f"  {layer:8s} threads={threads:<3d} {point['ops_per_s']:>9.1f} ops/s  "
                        f"p50={_fmt(point['p50_ms'])} ms  p99={_fmt(point['p99_ms'])} ms  errors={point['errors']}"
                        + (f"  (run {repeat + 1}/{options.repeat})" if options.repeat > 1 else "")
                    )
            for layer, done in runs.items():
                section["points"][layer].append(median_point(done))
        if ledger is not None and options.statement_sample > 0:
            section["gigcore_statements"] = count_statements(ledger, transfers=options.statement_sample)
        if escrow_fixture is not None and options.statement_sample > 0:
            from benchmarks import escrow as escrow_part

            section["escrow_statements"] = escrow_part.count_cycle_statements(
                escrow_fixture, cycles=max(1, options.statement_sample // 10)
            )
    finally:
        if ledger is not None:
            ledger.runtime.stop()
        if escrow_fixture is not None:
            escrow_fixture.runtime.stop()
    return section


def _escrow_point(
    threads: int,
    options: LedgerOptions,
    server: Server,
    fixture: Any,
    server_cpu: CpuClock,
    rate: list[float],
) -> dict[str, Any]:
    """One escrow point on PostgreSQL: a fresh pool of ACTIVE contracts sized from the best
    rate seen so far (outside the window), then the closed loop of single commands."""
    from benchmarks import escrow as escrow_part

    fixture.drain()
    fixture.inline = 0
    need = escrow_part.contracts_needed(rate[0], options.warmup + options.duration, threads=threads)
    fill_s = fixture.fill(need)
    checkpoint(server)
    vacuum_analyze(server)
    with activity_sampler(server, server.database) as activity:
        measurement = run_closed_loop(
            escrow_part.cycle_worker(fixture),
            threads=threads,
            warmup=options.warmup,
            duration=options.duration,
            server_cpu=server_cpu,
        )
    rate[0] = max(rate[0], measurement.ops_per_s)
    return {
        **measurement.as_dict(),
        "cycles_per_s": round(measurement.ops_per_s / escrow_part.OPS_PER_CYCLE, 1),
        "contracts_prepared": need,
        "contracts_prepare_s": round(fill_s, 2),
        "inline_contracts": fixture.inline,
        "server_activity": activity,
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def _one_point(
    layer: str,
    threads: int,
    options: LedgerOptions,
    pgbench_server: Server,
    ledger: GigcoreLedger | None,
    server_cpu: CpuClock,
) -> dict[str, Any]:
    target = pgbench_server if layer in ("pgbench", "psycopg") else options.server
    checkpoint(target)
    measurement: Measurement
    with activity_sampler(target, target.database) as activity:
        if layer == "pgbench":
            measurement = run_pgbench(
                pgbench_server, clients=threads, warmup=options.warmup, duration=options.duration, server_cpu=server_cpu
            )
        elif layer == "psycopg":
            pgbench_housekeeping(pgbench_server)
            measurement = run_closed_loop(
                raw_tpcb_worker(pgbench_server, options.scale),
                threads=threads,
                warmup=options.warmup,
                duration=options.duration,
                server_cpu=server_cpu,
            )
        elif layer == "gigcore":
            assert ledger is not None
            vacuum_analyze(options.server)
            measurement = run_closed_loop(
                transfer_worker(ledger),
                threads=threads,
                warmup=options.warmup,
                duration=options.duration,
                server_cpu=server_cpu,
            )
        else:
            raise ValueError(f"unknown layer {layer!r}")
    return {**measurement.as_dict(), "server_activity": activity, "loadavg_1m_after": round(os.getloadavg()[0], 2)}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def psycopg_version() -> str:
    return psycopg.__version__
