"""The benchmark harness's arithmetic and files on fake numbers: no database, no server,
no timing. The harness itself runs only as ``python -m benchmarks``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchmarks import cli, report
from benchmarks.http_api import parse_wrk
from benchmarks.loadgen import check_loopback
from benchmarks.measure import from_latencies, percentile
from benchmarks.postgres import parse_pgbench_log, parse_pgbench_tps


def _ledger(pgbench: float, psycopg: float, gigcore: float) -> dict[str, object]:
    def point(ops: float) -> dict[str, object]:
        return {"threads": 4, "ops_per_s": ops}

    return {
        "threads": [4],
        "points": {"pgbench": [point(pgbench)], "psycopg": [point(psycopg)], "gigcore": [point(gigcore)]},
    }


def test_ledger_ratios_and_the_target_are_data() -> None:
    rows, targets = report.ledger_ratios(_ledger(pgbench=1000, psycopg=800, gigcore=500))

    assert rows == [
        {"threads": 4, "gigcore_over_pgbench": 0.5, "gigcore_over_psycopg": 0.625, "psycopg_over_pgbench": 0.8}
    ]
    assert [(t["name"], t["value"], t["threshold"], t["passed"]) for t in targets] == [
        ("ledger.gigcore_over_pgbench", 0.5, 0.6, False)
    ]


def test_a_ledger_target_passes_at_the_threshold() -> None:
    _, targets = report.ledger_ratios(_ledger(pgbench=1000, psycopg=900, gigcore=600))
    assert targets[0]["passed"] is True


def test_http_ratio_and_a_missing_figure() -> None:
    ratios, targets = report.http_ratios({"live": {"ops_per_s": 4000.0}, "balance": {"ops_per_s": 2200.0}})
    assert ratios == {"balance_over_live": 0.55}
    assert targets[0]["passed"] is True

    ratios, targets = report.http_ratios({"live": {"ops_per_s": 0.0}, "balance": {"ops_per_s": 2200.0}})
    assert ratios == {"balance_over_live": None}
    assert targets[0]["passed"] is None


def test_results_are_written_stamped_and_as_latest(tmp_path: Path) -> None:
    document = {"schema": report.SCHEMA_VERSION, "ratios": {"http": {"balance_over_live": 0.7}}}
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    stamped, latest = report.write_results(document, name="smoke", directory=tmp_path, now=when)

    assert stamped.name == "smoke-20300102T030405Z.json"
    assert latest.name == "latest-smoke.json"
    assert json.loads(stamped.read_text()) == json.loads(latest.read_text()) == document
    assert not list(tmp_path.glob("*.tmp"))


def test_result_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        report.write_results({}, name="../escape", directory=tmp_path)
    with pytest.raises(ValueError):
        report.write_results({}, name="latest-x", directory=tmp_path)


def test_percentiles_and_a_measurement_from_latencies() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(values, 50) == 0.05
    assert percentile(values, 99) == 0.099
    assert percentile([], 50) is None

    measured = from_latencies(threads=2, seconds=2.0, latencies_s=values, tool="fake")
    assert measured.ops_per_s == 50.0
    assert measured.p50_ms == pytest.approx(50.0)
    assert measured.as_dict()["p99_ms"] == 99.0


def test_pgbench_output_and_log_are_parsed(tmp_path: Path) -> None:
    output = (
        "number of failed transactions: 0 (0.000%)\nlatency average = 2.950 ms\n"
        "initial connection time = 3.1 ms\ntps = 1355.123456 (without initial connection time)\n"
    )
    assert parse_pgbench_tps(output) == 1355.123456
    log = tmp_path / "txn.123"
    log.write_text("0 1 1500 0 1700000000 1\n0 2 2500 0 1700000000 2\n")
    assert parse_pgbench_log([str(log)]) == [0.0015, 0.0025]


def test_wrk_output_is_parsed() -> None:
    output = """Running 10s test @ http://127.0.0.1:8000/health/live
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.36ms  200.00us   9.00ms   90.00%
  Latency Distribution
     50%    1.30ms
     75%    1.37ms
     90%    1.42ms
     99%    2.71ms
  70421 requests in 3.00s, 9.00MB read
  Non-2xx or 3xx responses: 7
Requests/sec:  23468.50
"""
    parsed = parse_wrk(output)
    assert parsed["requests_per_s"] == 23468.5
    assert parsed["requests"] == 70421
    assert parsed["p99_ms"] == 2.71
    assert parsed["mean_ms"] == 1.36
    assert parsed["non_2xx"] == 7


def test_load_goes_to_loopback_only() -> None:
    check_loopback("127.0.0.1")
    check_loopback("::1")
    with pytest.raises(ValueError):
        check_loopback("10.0.0.5")


def test_quick_options_and_default_names() -> None:
    args = cli.parse_args(["--quick", "--only", "http"])
    assert (args.duration, args.warmup, args.name) == (3.0, 1.0, "quick-http")
    assert cli.parse_args([]).name == "full"
    with pytest.raises(SystemExit):
        cli.parse_args(["--threads", "0"])


def test_the_median_run_is_reported_with_the_spread() -> None:
    from benchmarks.measure import median_point

    runs = [
        {"ops_per_s": 300.0, "p50_ms": 3.0},
        {"ops_per_s": 100.0, "p50_ms": 9.0},
        {"ops_per_s": 200.0, "p50_ms": 5.0},
    ]

    chosen = median_point(runs)

    assert chosen["ops_per_s"] == 200.0
    assert chosen["p50_ms"] == 5.0
    assert chosen["runs_ops_per_s"] == [300.0, 100.0, 200.0]
    assert "runs_ops_per_s" not in median_point(runs[:1])


def _escrow_ledger(threads: list[int], pgbench: list[float], escrow: list[float]) -> dict[str, object]:
    return {
        "threads": threads,
        "points": {
            "pgbench": [{"threads": t, "ops_per_s": v} for t, v in zip(threads, pgbench, strict=True)],
            "escrow": [{"threads": t, "ops_per_s": v} for t, v in zip(threads, escrow, strict=True)],
        },
    }


def test_escrow_commands_over_pgbench_is_a_ratio_everywhere_and_a_target_at_16_threads() -> None:
    rows, targets = report.ledger_ratios(_escrow_ledger([1, 16], pgbench=[1000, 4000], escrow=[300, 2400]))

    assert [(r["threads"], r["escrow_over_pgbench"]) for r in rows] == [(1, 0.3), (16, 0.6)]
    assert [(t["name"], t["where"].split(",")[0], t["value"], t["threshold"], t["passed"]) for t in targets] == [
        ("escrow.commands_over_pgbench", "threads=16", 0.6, 0.6, True)
    ]

    _, below = report.ledger_ratios(_escrow_ledger([16], pgbench=[4000], escrow=[2000]))
    assert (below[0]["value"], below[0]["passed"]) == (0.5, False)


def test_the_ledger_rows_carry_no_escrow_ratio_without_the_escrow_layer() -> None:
    rows, _ = report.ledger_ratios(_ledger(pgbench=1000, psycopg=800, gigcore=500))
    assert "escrow_over_pgbench" not in rows[0]


def test_sqlite_escrow_ratio_and_target_per_thread_count_with_a_missing_figure() -> None:
    section = {
        "threads": [1, 4],
        "points": {
            "raw_sqlite3": [{"threads": 1, "ops_per_s": 3000.0}, {"threads": 4, "ops_per_s": 0.0}],
            "gigcore_escrow": [{"threads": 1, "ops_per_s": 1500.0}, {"threads": 4, "ops_per_s": 500.0}],
        },
    }

    rows, targets = report.sqlite_escrow_ratios(section)

    assert rows == [
        {"threads": 1, "gigcore_over_raw_sqlite3": 0.5},
        {"threads": 4, "gigcore_over_raw_sqlite3": None},
    ]
    assert [(t["name"], t["threshold"], t["passed"]) for t in targets] == [
        ("escrow.sqlite_commands_over_raw", 0.5, True),
        ("escrow.sqlite_commands_over_raw", 0.5, None),
    ]


def test_escrow_contract_pool_sizing() -> None:
    from benchmarks.escrow import MILESTONES_PER_CONTRACT, OPS_PER_CYCLE, contracts_needed

    # 900 commands/s for 10 s with a 1.5 margin = 4500 cycles = 90 contracts of 50 (+1)
    assert OPS_PER_CYCLE == 3
    assert contracts_needed(900, 10, threads=4) == int(900 * 10 * 1.5 / 3 / MILESTONES_PER_CONTRACT) + 1
    assert contracts_needed(1, 1, threads=16) == 32  # at least two per thread


def test_the_escrow_part_and_its_layers() -> None:
    assert cli.parse_args(["--quick", "--only", "escrow"]).name == "quick-escrow"
    assert cli.ledger_layers(["escrow"]) == ("pgbench", "escrow")
    assert cli.ledger_layers(["ledger", "escrow", "http"]) == ("pgbench", "psycopg", "gigcore", "escrow")
    assert cli.ledger_layers(["ledger"]) == ("pgbench", "psycopg", "gigcore")
    assert cli.ledger_layers(["transfer"]) == ("gigcore",)
