"""``python -m benchmarks``: run the ledger and HTTP measurements, print tables and ratios,
and write ``benchmarks/results/<name>-<UTC timestamp>.json`` plus ``latest-<name>.json``.

Exit status: 0 when every selected part ran (whatever the figures), 1 when a part could not
run (no PostgreSQL, the server did not start, ...), 2 for bad options. Figures below a
target never change the exit status: targets are data."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from benchmarks import report

PARTS = ("ledger", "http", "transfer", "escrow", "events")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="gigcore performance harness: ledger vs pgbench and raw psycopg on PostgreSQL, "
        "HTTP balance read vs a trivial endpoint. See benchmarks/README.md.",
    )
    parser.add_argument("--quick", action="store_true", help="short points (1 s warm-up + 3 s) for a smoke run")
    parser.add_argument("--duration", type=float, help="seconds measured per point (default 10, --quick 3)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per point, discarded (default 2, --quick 1)")
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="one part: ledger (pgbench, psycopg, gigcore), http, transfer (gigcore only, for profiling), "
        "or escrow (pgbench + escrow commands on PostgreSQL, then escrow on SQLite vs raw sqlite3), "
        "or events (outbox -> RabbitMQ -> worker events/s vs a raw Dramatiq no-op actor; only with --only)",
    )
    parser.add_argument("--threads", default="1,4,16", help="ledger thread/client counts (default 1,4,16)")
    parser.add_argument("--scale", type=int, default=10, help="pgbench scale (default 10)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per point (ledger and HTTP); the median is reported (default 1)"
    )
    parser.add_argument("--wallets", type=int, help="gigcore wallets (default 20 x scale, see README)")
    parser.add_argument(
        "--audit-chains", type=int, help="gigcore's audit_chains setting for the ledger run (default: gigcore's own)"
    )
    parser.add_argument("--reinit-pgbench", action="store_true", help="re-run pgbench -i even if the tables exist")
    parser.add_argument("--connections", type=int, default=32, help="HTTP keep-alive connections (default 32)")
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk if installed (one apt-get attempt when missing), else Python",
    )
    parser.add_argument(
        "--http-database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="store behind gigcore serve: the embedded SQLite default, or PostgreSQL (database <bench db>_http)",
    )
    parser.add_argument("--events", type=int, help="events per point of the events part (default 5000, --quick 1000)")
    parser.add_argument("--worker-threads", type=int, default=8, help="worker threads of the events part (default 8)")
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="gigcore worker processes of the events part (default 1)"
    )
    parser.add_argument("--no-install", action="store_true", help="never try to apt-get install wrk")
    parser.add_argument("--name", help="result name (default: full, quick, or <mode>-<part> with --only)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no result files")
    args = parser.parse_args(argv)
    try:
        args.thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        parser.error("--threads: comma-separated whole numbers, e.g. 1,4,16")
    if not args.thread_counts or any(t < 1 or t > 64 for t in args.thread_counts):
        parser.error("--threads: counts between 1 and 64")
    if not 1 <= args.repeat <= 9:
        parser.error("--repeat: 1 to 9")
    if args.scale < 1 or args.scale > 1000:
        parser.error("--scale: 1 to 1000")
    if args.events is not None and not 10 <= args.events <= 1_000_000:
        parser.error("--events: 10 to 1000000")
    if not 1 <= args.worker_threads <= 64:
        parser.error("--worker-threads: 1 to 64")
    if not 1 <= args.worker_processes <= 8:
        parser.error("--worker-processes: 1 to 8")
    if args.connections < 1 or args.connections > 1024:
        parser.error("--connections: 1 to 1024")
    args.duration = args.duration if args.duration is not None else (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    if not 0.5 <= args.duration <= 600 or not 0 <= args.warmup <= 120:
        parser.error("--duration 0.5..600 s, --warmup 0..120 s")
    mode = "quick" if args.quick else "full"
    default = f"{mode}-{args.only}" if args.only else mode
    if args.http_database == "postgres" and args.only in (None, "http"):
        default += "-httppg"
    args.name = args.name or default
    try:
        report.check_name(args.name)
    except ValueError as error:
        parser.error(str(error))
    return args


def ledger_layers(parts: Sequence[str]) -> tuple[str, ...]:
    """The PostgreSQL layers the selected parts need, in the order they run at each client
    count: ``transfer`` alone is gigcore; ``escrow`` adds its layer beside pgbench."""
    if "transfer" in parts:
        return ("gigcore",)
    layers: tuple[str, ...] = ()
    if "ledger" in parts:
        layers = ("pgbench", "psycopg", "gigcore")
    if "escrow" in parts:
        layers = (layers or ("pgbench",)) + ("escrow",)
    return layers


def log(message: str) -> None:
    print(message, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    parts = [args.only] if args.only else ["ledger", "escrow", "http"]
    document: dict[str, Any] = {
        "schema": report.SCHEMA_VERSION,
        "name": args.name,
        "started_at": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "options": {
            "quick": args.quick,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "parts": parts,
            "threads": args.thread_counts,
            "scale": args.scale,
            "connections": args.connections,
            "load_generator": args.load_generator,
            "audit_chains": args.audit_chains,
            "wallets": args.wallets,
            "repeat": args.repeat,
            "http_database": args.http_database,
            "events": args.events,
            "worker_threads": args.worker_threads,
            "worker_processes": args.worker_processes,
        },
        "targets_definition": dict(report.TARGETS),
    }
    load = os.getloadavg()
    extra_machine: dict[str, Any] = {"loadavg_at_start": [round(x, 2) for x in load]}
    cores = os.cpu_count() or 1
    if load[0] > cores * 0.75:
        log(
            f"note: load average {load[0]:.1f} on {cores} cores before the run: other work is competing for the "
            "CPU, so figures will be low and noisy (ratios of interleaved points suffer less)"
        )
    failed = False
    targets: list[dict[str, Any]] = []
    ratios: dict[str, Any] = {}
    printed: list[str] = []

    if "ledger" in parts or "transfer" in parts or "escrow" in parts:
        from benchmarks import ledger as ledger_part
        from benchmarks import postgres

        url = os.environ.get(postgres.URL_ENV, postgres.DEFAULT_URL)
        log(f"== ledger on {url.split('@')[-1]}")
        try:
            server = postgres.Server.from_url(url)
            postgres.check_not_protected(server.database)
            postgres.ensure_database(server, reset=False)
            extra_machine["postgres"] = postgres.server_facts(server)
            extra_machine["pgbench"] = postgres.pgbench_version()
            layers = ledger_layers(parts)
            section = ledger_part.run_ledger(
                ledger_part.LedgerOptions(
                    server=server,
                    pgbench_database=f"{server.database}_pgbench",
                    scale=args.scale,
                    threads=args.thread_counts,
                    warmup=args.warmup,
                    duration=args.duration,
                    wallets=args.wallets or ledger_part.wallets_for_scale(args.scale),
                    reinit_pgbench=args.reinit_pgbench,
                    audit_chains=args.audit_chains,
                    repeat=args.repeat,
                    layers=layers,
                ),
                log,
            )
            ledger_ratios, ledger_targets = report.ledger_ratios(section)
            document["ledger"] = section
            ratios["ledger"] = ledger_ratios
            targets += ledger_targets
            printed.append(report.format_ledger(section, ledger_ratios))
        except Exception as error:
            failed = True
            document["ledger"] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
            log(f"  ledger part failed: {type(error).__name__}: {error}")

    if "escrow" in parts:
        from benchmarks import escrow as escrow_part

        log("== escrow on SQLite")
        try:
            section = escrow_part.run_sqlite(
                escrow_part.SqliteOptions(
                    threads=args.thread_counts, warmup=args.warmup, duration=args.duration, repeat=args.repeat
                ),
                log,
            )
            sqlite_ratios, sqlite_targets = report.sqlite_escrow_ratios(section)
            document["escrow_sqlite"] = section
            ratios["escrow_sqlite"] = sqlite_ratios
            targets += sqlite_targets
            printed.append(report.format_sqlite_escrow(section, sqlite_ratios))
        except Exception as error:
            failed = True
            document["escrow_sqlite"] = {
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc(),
            }
            log(f"  escrow sqlite part failed: {type(error).__name__}: {error}")

    if "http" in parts:
        from benchmarks import http_api as http_part

        log("== http")
        try:
            postgres_url: str | None = None
            if args.http_database == "postgres":
                from benchmarks import postgres

                base = postgres.Server.from_url(os.environ.get(postgres.URL_ENV, postgres.DEFAULT_URL))
                http_db = base.with_database(f"{base.database}_http")
                postgres.ensure_database(http_db, reset=True)
                postgres_url = http_db.sqlalchemy_url()
            section = http_part.run_http(
                http_part.HttpOptions(
                    connections=args.connections,
                    warmup=args.warmup,
                    duration=args.duration,
                    load_generator=args.load_generator,
                    may_install_wrk=not args.no_install,
                    postgres_url=postgres_url,
                    repeat=args.repeat,
                ),
                log,
            )
            http_ratio, http_targets = report.http_ratios(section)
            document["http"] = section
            ratios["http"] = http_ratio
            targets += http_targets
            printed.append(report.format_http(section, http_ratio))
        except Exception as error:
            failed = True
            document["http"] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
            log(f"  http part failed: {type(error).__name__}: {error}")

    if "events" in parts:
        from benchmarks import events as events_part
        from benchmarks import postgres

        log("== events (outbox -> RabbitMQ -> worker) vs raw dramatiq")
        try:
            base = postgres.Server.from_url(os.environ.get(postgres.URL_ENV, postgres.DEFAULT_URL))
            section = events_part.run_events(
                events_part.EventsOptions(
                    server=base.with_database(f"{base.database}_events"),
                    amqp_url=events_part.amqp_url(),
                    count=args.events or events_part.default_count(args.quick),
                    wallets=200,
                    worker_threads=args.worker_threads,
                    worker_processes=args.worker_processes,
                    repeat=args.repeat,
                ),
                log,
            )
            events_ratio, events_targets = events_part.events_ratios(section)
            document["events"] = section
            ratios["events"] = events_ratio
            targets += events_targets
            printed.append(events_part.format_events(section, events_ratio))
        except Exception as error:
            failed = True
            document["events"] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}
            log(f"  events part failed: {type(error).__name__}: {error}")

    document["ratios"] = ratios
    document["targets"] = targets
    document["machine"] = report.machine_info(extra_machine)
    document["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    document["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    document["wall_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    log("")
    for block in printed:
        log(block)
        log("")
    if targets:
        log(report.format_targets(targets))
    if not args.no_write:
        stamped, latest = report.write_results(document, name=args.name)
        log(f"\nwrote {stamped.relative_to(stamped.parent.parent.parent)} and {latest.name}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    time.sleep(0)
    raise SystemExit(main())
