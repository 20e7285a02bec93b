"""Ratios, targets, the result document and its files, and the printed tables.

Targets are data: each is recorded with its threshold, the measured value and whether it
passed. Nothing here raises on a slow figure."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# What "close enough to the physical limit" means, from shared/DESIGN-NOTES.md and the brief.
TARGETS: Mapping[str, float] = {
    "ledger.gigcore_over_pgbench": 0.6,  # an escrow-sized op at >= 0.6 x pgbench's TPC-B
    "http.balance_over_live": 0.5,  # an authenticated DB read at >= 0.5 x a trivial endpoint
    # issue 3 item 11: escrow commands (fund, submit, approve: 3 per cycle) per second at 16
    # threads >= 0.6 x pgbench's TPC-B tps, same server, same run
    "escrow.commands_over_pgbench": 0.6,
    # the same cycle on an embedded SQLite file >= 0.5 x raw sqlite3 doing the same row writes
    "escrow.sqlite_commands_over_raw": 0.5,
    # issue 4 item 10: events/s end to end (commit -> outbox -> relay -> RabbitMQ -> actor ->
    # inbox) >= 0.5 x a raw Dramatiq no-op actor on the same broker, same run
    "events.gigcore_over_raw_dramatiq": 0.5,
}
ESCROW_TARGET_THREADS = 16  # the PostgreSQL escrow target is set at 16 clients only

PACKAGES = (
    "gigcore",
    "sqlalchemy",
    "psycopg",
    "psycopg-binary",
    "alembic",
    "litestar",
    "msgspec",
    "uvicorn",
    "uvloop",
    "httptools",
    "h11",
    "granian",
    "attrs",
    "cattrs",
    "dependency-injector",
    "structlog",
)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator rounded to 3 places; None when either is missing or the
    denominator is not positive."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 3)


def target(name: str, value: float | None, *, where: str = "") -> dict[str, Any]:
    """A target as data: ``passed`` is None when there was nothing to compare."""
    threshold = TARGETS[name]
    return {
        "name": name,
        "where": where,
        "op": ">=",
        "threshold": threshold,
        "value": value,
        "passed": None if value is None else value >= threshold,
    }


def ledger_ratios(ledger: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per thread count: gigcore/pgbench, gigcore/raw psycopg and psycopg/pgbench; plus the
    gigcore/pgbench target at each thread count."""
    points = ledger.get("points", {})
    by_layer = {layer: {p["threads"]: p["ops_per_s"] for p in rows} for layer, rows in points.items()}
    rows: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for threads in ledger.get("threads", []):
        pg = by_layer.get("pgbench", {}).get(threads)
        raw = by_layer.get("psycopg", {}).get(threads)
        gig = by_layer.get("gigcore", {}).get(threads)
        row = {
            "threads": threads,
            "gigcore_over_pgbench": ratio(gig, pg),
            "gigcore_over_psycopg": ratio(gig, raw),
            "psycopg_over_pgbench": ratio(raw, pg),
        }
        escrow = by_layer.get("escrow", {}).get(threads)
        if "escrow" in by_layer:
            row["escrow_over_pgbench"] = ratio(escrow, pg)
        rows.append(row)
        if gig is not None and pg is not None:
            value = row["gigcore_over_pgbench"]
            targets.append(target("ledger.gigcore_over_pgbench", value, where=f"threads={threads}"))
        if "escrow" in by_layer and threads == ESCROW_TARGET_THREADS:
            targets.append(
                target(
                    "escrow.commands_over_pgbench",
                    row["escrow_over_pgbench"],
                    where=f"threads={threads}, 3 commands per cycle",
                )
            )
    return rows, targets


def sqlite_escrow_ratios(section: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per thread count: gigcore's escrow commands/s on SQLite over raw sqlite3's, and the
    target at each thread count."""
    points = section.get("points", {})
    by_layer = {layer: {p["threads"]: p["ops_per_s"] for p in rows} for layer, rows in points.items()}
    rows: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    for threads in section.get("threads", []):
        value = ratio(by_layer.get("gigcore_escrow", {}).get(threads), by_layer.get("raw_sqlite3", {}).get(threads))
        rows.append({"threads": threads, "gigcore_over_raw_sqlite3": value})
        targets.append(target("escrow.sqlite_commands_over_raw", value, where=f"threads={threads}, sqlite file"))
    return rows, targets


def http_ratios(http: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    live = http.get("live", {}).get("ops_per_s")
    balance = http.get("balance", {}).get("ops_per_s")
    value = ratio(balance, live)
    return {"balance_over_live": value}, [target("http.balance_over_live", value, where="same server, same load")]


# ---- machine facts -----------------------------------------------------------------------------


def machine_info(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "git": _git(),
    }
    try:
        import sqlite3

        info["sqlite"] = sqlite3.sqlite_version
    except ImportError:  # pragma: no cover - stdlib
        pass
    info.update(extra or {})
    return info


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or None
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def _memory_gib() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s+(\d+) kB", text, re.MULTILINE)
    return round(int(match.group(1)) / 1024 / 1024, 1) if match else None


def _git() -> dict[str, Any] | None:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": bool(dirty)}


# ---- files -----------------------------------------------------------------------------------------


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    if not _NAME.match(name) or name.startswith("latest"):
        raise ValueError(f"result name {name!r}: 1-64 of letters, digits, '.', '_', '-', not starting with 'latest'")
    return name


def write_results(
    document: Mapping[str, Any], *, name: str, directory: Path = RESULTS_DIR, now: datetime | None = None
) -> tuple[Path, Path]:
    """Write ``<name>-<UTC timestamp>.json`` and replace ``latest-<name>.json`` with the same
    content (each through a ``.tmp`` file and a rename, so a reader never sees half a file)."""
    check_name(name)
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"
    stamped = directory / f"{name}-{utc_stamp(now)}.json"
    latest = directory / f"latest-{name}.json"
    for path in (stamped, latest):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return stamped, latest


# ---- printing -------------------------------------------------------------------------------------


def _num(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _mark(passed: bool | None) -> str:
    return {True: "meets", False: "BELOW", None: "n/a"}[passed]


LAYER_TITLES = {
    "pgbench": "pgbench (C)",
    "psycopg": "raw psycopg 3",
    "gigcore": "gigcore transfer",
    "escrow": "gigcore escrow cmd",
    "raw_sqlite3": "raw sqlite3",
    "gigcore_escrow": "gigcore escrow cmd",
}


def format_ledger(ledger: Mapping[str, Any], ratios: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        f"Ledger on PostgreSQL: pgbench scale {ledger['scale']}, {ledger['warmup_s']:g} s warm-up + "
        f"{ledger['duration_s']:g} s per point",
    ]
    setup = ledger.get("gigcore_setup")
    if setup:
        lines.append(f"  contention: {setup['contention_note']}")
    header = (
        f"  {'layer':<18}{'threads':>8}{'ops/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'client CPU ms/op':>18}{'server CPU ms/op':>18}"
    )
    lines += [header, "  " + "-" * (len(header) - 2)]
    for layer, rows in ledger.get("points", {}).items():
        for p in rows:
            lines.append(
                f"  {LAYER_TITLES.get(layer, layer):<18}{p['threads']:>8}{_num(p['ops_per_s']):>11}"
                f"{_num(p['p50_ms'], '.2f'):>9}{_num(p['p99_ms'], '.2f'):>9}{p['errors']:>8}"
                f"{_num(p.get('client_cpu_ms_per_op'), '.3f'):>18}{_num(p.get('server_cpu_ms_per_op'), '.3f'):>18}"
            )
    lines.append("")
    with_escrow = any("escrow_over_pgbench" in r for r in ratios)
    header = f"  {'threads':>8}{'gigcore/pgbench':>17}{'gigcore/psycopg':>17}{'psycopg/pgbench':>17}" + (
        f"{'escrow/pgbench':>16}" if with_escrow else ""
    )
    lines += [header, "  " + "-" * (len(header) - 2)]
    for r in ratios:
        lines.append(
            f"  {r['threads']:>8}{_num(r['gigcore_over_pgbench'], '.2f'):>17}"
            f"{_num(r['gigcore_over_psycopg'], '.2f'):>17}{_num(r['psycopg_over_pgbench'], '.2f'):>17}"
            + (f"{_num(r.get('escrow_over_pgbench'), '.2f'):>16}" if with_escrow else "")
        )
    if with_escrow:
        lines.append(
            "  escrow: ops/s counts escrow COMMANDS (fund, submit, approve: 3 per cycle), one transaction each"
        )
    stmts = ledger.get("gigcore_statements", {})
    if stmts.get("available"):
        lines.append(
            f"  gigcore transfer: {stmts['per_transfer'].get('statements', 0):g} statements, "
            f"~{stmts['round_trips_per_transfer_estimate']:g} round trips per transfer"
            + (" incl. the pool's pre-ping" if stmts.get("pool_pre_ping") else "")
            + " (pgbench: 7 = BEGIN + 5 statements + END)"
        )
    return "\n".join(lines)


def format_sqlite_escrow(section: Mapping[str, Any], ratios: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        f"Escrow on an embedded SQLite file: {section['warmup_s']:g} s warm-up + {section['duration_s']:g} s per "
        "point; one op = one command (fund, submit or approve), 3 per cycle",
    ]
    header = f"  {'layer':<20}{'threads':>8}{'ops/s':>11}{'cycles/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for layer, rows in section.get("points", {}).items():
        for p in rows:
            lines.append(
                f"  {LAYER_TITLES.get(layer, layer):<20}{p['threads']:>8}{_num(p['ops_per_s']):>11}"
                f"{_num(p.get('cycles_per_s')):>10}{_num(p['p50_ms'], '.2f'):>9}{_num(p['p99_ms'], '.2f'):>9}"
                f"{p['errors']:>8}"
            )
    lines.append("  " + ", ".join(f"{r['threads']}: {_num(r['gigcore_over_raw_sqlite3'], '.2f')}" for r in ratios))
    lines[-1] = "  gigcore/raw sqlite3 by threads: " + lines[-1].strip()
    return "\n".join(lines)


def format_http(http: Mapping[str, Any], ratios: Mapping[str, Any]) -> str:
    lines = [
        f"HTTP: {http.get('server', '?')}; load generator: {http.get('load_generator', '?')}, "
        f"{http.get('connections')} connections, {http.get('warmup_s'):g} s warm-up + {http.get('duration_s'):g} s",
    ]
    header = f"  {'endpoint':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    lines += [header, "  " + "-" * (len(header) - 2)]
    for key, title in (("live", "GET /health/live"), ("balance", "GET /v1/wallets/{id}/balance")):
        p = http.get(key)
        if p:
            lines.append(
                f"  {title:<34}{_num(p['ops_per_s']):>10}{_num(p['p50_ms'], '.2f'):>9}"
                f"{_num(p['p99_ms'], '.2f'):>9}{p['errors']:>8}"
            )
    lines.append(f"  balance/live = {_num(ratios.get('balance_over_live'), '.2f')}")
    return "\n".join(lines)


def format_targets(targets: Sequence[Mapping[str, Any]]) -> str:
    lines = ["Targets (data, not assertions):"]
    for t in targets:
        lines.append(
            f"  {t['name']:<30} {t['where']:<28} {_num(t['value'], '.2f'):>6} {t['op']} {t['threshold']:<5} "
            f"{_mark(t['passed'])}"
        )
    return "\n".join(lines)
