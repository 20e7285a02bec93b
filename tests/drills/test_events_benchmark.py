"""The events benchmark (``python -m benchmarks --only events``): its arithmetic on fake
numbers, and one tiny real run against the machine's
PostgreSQL and RabbitMQ (a database and vhosts of its own), so the harness cannot rot
unnoticed. Figures are never asserted."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from benchmarks import cli, report
from benchmarks import events as events_part
from benchmarks.postgres import DEFAULT_URL, Server

from tests.support.services import Unavailable, postgres_server_url, rabbitmq_vhost


def _section(baseline: float, gigcore: float) -> dict[str, object]:
    return {
        "events": 1000,
        "wallets": 200,
        "worker_threads": 8,
        "relay_lanes": 8,
        "points": {
            "baseline": {"events_per_s": baseline, "client_cpu_ms_per_event": 0.5},
            "gigcore": {"events_per_s": gigcore, "relay_events_per_s": 900.0, "client_cpu_ms_per_event": None},
        },
    }


def test_the_events_ratio_and_its_target_are_data() -> None:
    ratios, targets = events_part.events_ratios(_section(1500.0, 600.0))
    assert ratios == {"gigcore_over_raw_dramatiq": 0.4}
    assert [(t["name"], t["threshold"], t["passed"]) for t in targets] == [
        ("events.gigcore_over_raw_dramatiq", 0.5, False)
    ]
    assert events_part.events_ratios(_section(1000.0, 500.0))[1][0]["passed"] is True
    missing, targets = events_part.events_ratios(_section(0.0, 500.0))
    assert missing == {"gigcore_over_raw_dramatiq": None} and targets[0]["passed"] is None
    assert "0.4" in events_part.format_events(_section(1500.0, 600.0), ratios)
    assert "events.gigcore_over_raw_dramatiq" in report.TARGETS


def test_the_events_part_options() -> None:
    args = cli.parse_args(["--quick", "--only", "events"])
    assert (args.name, args.events, args.worker_threads) == ("quick-events", None, 8)
    assert events_part.default_count(True) == events_part.QUICK_EVENTS < events_part.default_count(False)
    assert cli.parse_args(["--only", "events", "--events", "200", "--worker-threads", "4"]).events == 200
    for bad in (["--events", "5"], ["--worker-threads", "0"]):
        with pytest.raises(SystemExit):
            cli.parse_args(["--only", "events", *bad])


def test_the_median_run_is_reported_with_the_spread() -> None:
    chosen = events_part._median([{"events_per_s": 3.0}, {"events_per_s": 1.0}, {"events_per_s": 2.0}])
    assert chosen["events_per_s"] == 2.0 and chosen["runs_events_per_s"] == [3.0, 1.0, 2.0]


@pytest.fixture
def amqp_url() -> Iterator[str]:
    # ~20-40 s, beside the other drills: it proves the benchmark's harness really runs.
    # Only to learn that the broker is there (skip, or fail under CI=true); the benchmark
    # makes vhosts of its own.
    try:
        with rabbitmq_vhost("gigcore-benchcheck"):
            pass
    except Unavailable as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(error), pytrace=False)
        pytest.skip(str(error))
    yield events_part.amqp_url()


@pytest.mark.postgres
def test_a_tiny_real_run_measures_both_sides(amqp_url: str) -> None:
    base = Server.from_url(postgres_server_url() or DEFAULT_URL)
    server = base.with_database(f"gigcore_bench_events_smoke_{uuid.uuid4().hex[:8]}")
    options = events_part.EventsOptions(
        server=server, amqp_url=amqp_url, count=150, wallets=10, worker_threads=2, repeat=1, timeout_s=60
    )
    try:
        section = events_part.run_events(options, lambda _line: None)
    finally:
        with base.with_database("postgres").connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{server.database}" WITH (FORCE)')
    ratios, targets = events_part.events_ratios(section)
    assert section["points"]["baseline"]["events"] == section["points"]["gigcore"]["events"] == 150
    assert section["points"]["gigcore"]["events_per_s"] > 0 and section["points"]["baseline"]["events_per_s"] > 0
    assert isinstance(ratios["gigcore_over_raw_dramatiq"], float)
    assert targets[0]["passed"] in (True, False)
