"""``gigcore exports journal``: a period's entries as CSV or JSON, with totals that balance."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.shared.actor import Persona
from tests.unit.core.world import World, eur

from .conftest import Cli

ROUNDS = 40  # a deposit and a transfer each: 80 entries, 160 postings


@pytest.fixture
def busy() -> tuple[World, Cli]:
    """An in-memory installation (its clock in January 2026) with many entries, and the CLI on it."""
    world = World.in_memory()
    alice, bob = world.user("alice"), world.user("bob")
    world.user("fin", Persona.FINANCE)
    world.user("sam", Persona.SUPPORT)
    wa, wb = world.wallet(alice), world.wallet(bob)
    for n in range(1, ROUNDS + 1):
        world.deposit(alice, wa.wallet_id, eur(1000 + n))
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(n))
    return world, Cli({"GIGCORE_DATABASE_URL": "memory://"}, obj=world.runtime)


def test_csv_goes_to_stdout_with_balancing_totals_on_stderr(busy: tuple[World, Cli]) -> None:
    _world, cli = busy
    result = cli("exports", "journal", "--from", "2026-01-01", "--to", "2026-01-02", "--format", "csv")

    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["entry_id", "occurred_at", "kind", "memo", "account_id", "currency", "amount_minor"]
    assert len(rows) == 4 * ROUNDS and len({r["entry_id"] for r in rows}) == 2 * ROUNDS
    sums: dict[str, int] = defaultdict(int)
    for row in rows:
        sums[row["currency"]] += int(row["amount_minor"])
    assert dict(sums) == {"EUR": 0}
    times = [row["occurred_at"] for row in rows]
    assert times == sorted(times)
    moved = sum(1000 + n for n in range(1, ROUNDS + 1)) + sum(range(1, ROUNDS + 1))
    lines = result.stderr.splitlines()
    assert f"totals: {2 * ROUNDS} entries, {4 * ROUNDS} postings, balanced: true" in lines
    assert f"totals EUR: debits {moved} credits {moved} balanced: true" in lines
    assert "closing snapshot: none taken at or before the end of the period" in lines


def test_json_goes_to_a_file_as_a_finance_operator(busy: tuple[World, Cli], tmp_path: Path) -> None:
    _world, cli = busy
    out = tmp_path / "journal.json"
    result = cli(
        "exports", "journal", "--from", "2026-01-01", "--to", "2026-01-01T00:00:00.000040+00:00",
        "--format", "json", "--output", str(out), "--as", "fin",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert document["from_at"] == "2026-01-01T00:00:00+00:00"
    entries = document["entries"]
    assert 0 < len(entries) < 2 * ROUNDS  # the period ends part-way through the day's activity
    assert all(e["occurred_at"] < "2026-01-01T00:00:00.000040+00:00" for e in entries)
    totals = document["totals"]
    assert totals["entries"] == len(entries) and totals["balanced"] is True
    [eur_totals] = totals["currencies"]
    credits = sum(p["amount_minor"] for e in entries for p in e["postings"] if p["amount_minor"] > 0)
    assert eur_totals == {"currency": "EUR", "debits_minor": credits, "credits_minor": credits, "balanced": True}
    assert f"wrote {len(entries)} entries to {out}" in result.stderr


def test_support_may_not_export(busy: tuple[World, Cli]) -> None:
    _world, cli = busy
    result = cli("exports", "journal", "--from", "2026-01-01", "--to", "2026-01-02", "--as", "sam")
    assert result.exit_code == 5
    assert result.stdout == ""
    assert "[forbidden]" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "2026-01-01", "--to", "2026-01-02", "--format", "xml"),
        ("--from", "yesterday", "--to", "2026-01-02"),
        ("--from", "2026-01-01T00:00:00", "--to", "2026-01-02"),  # no offset
        ("--from", "2026-01-01", "--to", "2027-01-03"),  # longer than 366 days
        ("--from", "2026-01-02", "--to", "2026-01-01"),
    ],
)
def test_bad_periods_and_formats_are_usage_errors(busy: tuple[World, Cli], args: tuple[str, ...]) -> None:
    _world, cli = busy
    result = cli("exports", "journal", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""


def test_an_export_from_a_sqlite_database(cli: Cli, wallet: str) -> None:
    today = datetime.now(UTC).date()
    result = cli(
        "exports", "journal", "--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1)),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    [deposit] = document["entries"]
    assert deposit["kind"] == "deposit"
    assert {p["account_id"]: p["amount_minor"] for p in deposit["postings"]}[wallet] == 1050
    assert document["totals"]["currencies"] == [
        {"currency": "EUR", "debits_minor": 1050, "credits_minor": 1050, "balanced": True}
    ]
