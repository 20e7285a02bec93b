"""Payments from the command line: ``gigcore run get-payment / refund-payment`` for staff,
and ``gigcore payments reconcile`` writing its report (CSV or JSON) to a file."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path

import pytest
from dependency_injector import providers

from core.payments.domain import ChargeRequest, PaymentId, PaymentMethod, Route, RoutingPolicy, charge_key
from core.payments.use_cases.start_top_up import StartTopUpCommand
from core.shared.actor import Persona
from core.shared.ids import correlation_id
from core.shared.money import Money
from tests.unit.cli.conftest import Cli
from tests.unit.core.world import World, key
from tests.unit.payments.fakes import FakePaymentGateway


@pytest.fixture
def paid() -> tuple[World, Cli, FakePaymentGateway, str]:
    """An in-memory installation with one provider and one captured 20.00 EUR top-up."""
    world = World.in_memory()
    gateway = FakePaymentGateway("stripe", world.clock.now)
    world.runtime.use_cases.payment_gateways.override(providers.Object({"stripe": gateway}))
    world.runtime.use_cases.routing_policy.override(providers.Object(RoutingPolicy(routes=(Route(provider="stripe"),))))
    client = world.user("carl")
    world.user("fin", Persona.FINANCE)
    view = world.uc.start_top_up()(
        StartTopUpCommand(
            by=client,
            idempotency_key=key(),
            correlation_id=correlation_id(None),
            amount=Money.of(2_000, "EUR"),
            method=PaymentMethod.CARD,
            country="NL",
            payment_token="tok_visa",
        )
    )
    assert view.status.value == "captured"
    return world, Cli({"GIGCORE_DATABASE_URL": "memory://"}, obj=world.runtime), gateway, view.payment_id


def test_finance_reads_and_refunds_a_payment_with_gigcore_run(paid: tuple[World, Cli, FakePaymentGateway, str]) -> None:
    _world, cli, gateway, payment_id = paid
    read = cli.ok("run", "get-payment", "--as", "fin", "--payment-id", payment_id)
    assert (read["status"], read["amount"]) == ("captured", {"minor": 2_000, "currency": "EUR"})
    refunded = cli.ok(
        "run", "refund-payment", "--as", "fin", "--payment-id", payment_id, "--amount", "5.00 EUR", "--reason", "late"
    )
    assert (refunded["status"], refunded["payment"]["status"]) == ("succeeded", "partially_refunded")
    assert len(gateway.refunds) == 1


def test_finance_records_a_pending_refunds_outcome_with_gigcore_run(
    paid: tuple[World, Cli, FakePaymentGateway, str],
) -> None:
    _world, cli, gateway, payment_id = paid
    gateway.unavailable = True
    refunding = cli("run", "refund-payment", "--as", "fin", "--payment-id", payment_id, "--amount", "5.00 EUR")
    assert refunding.exit_code != 0  # no --reason
    pending = cli(
        "run", "refund-payment", "--as", "fin", "--payment-id", payment_id, "--amount", "5.00 EUR", "--reason", "late"
    )
    assert pending.exit_code == 7, pending.stderr  # unavailable: the refund stays pending
    gateway.unavailable = False
    [refund] = cli.ok("run", "get-payment", "--as", "fin", "--payment-id", payment_id)["refunds"]
    assert refund["status"] == "pending"
    args = ("run", "record-refund-outcome", "--payment-id", payment_id, "--refund-id", refund["refund_id"])
    refused = cli(*args, "--as", "carl", "--status", "failed", "--reason", "dashboard")
    assert refused.exit_code != 0
    still_sent = cli(*args, "--as", "fin", "--status", "failed", "--reason", "dashboard: failed")
    assert still_sent.exit_code == 4 and "refund_still_sent" in still_sent.stderr
    recorded = cli.ok(
        *args, "--as", "fin", "--status", "failed", "--reason", "dashboard: failed", "--provider-reference", "re_d1"
    )
    assert (recorded["status"], recorded["payment"]["status"]) == ("failed", "captured")
    again = cli(*args, "--as", "fin", "--status", "succeeded", "--reason", "dashboard: succeeded")
    assert again.exit_code == 4, again.stderr  # conflict
    assert "refund_not_pending" in again.stderr
    assert len(gateway.refunds) == 0


def test_finance_records_an_unknown_payments_outcome_with_gigcore_run(
    paid: tuple[World, Cli, FakePaymentGateway, str],
) -> None:
    world, cli, gateway, _payment_id = paid
    gateway.lose_answers = 1
    gateway.lookups_unavailable = True
    view = world.uc.start_top_up()(
        StartTopUpCommand(
            by=world.user("cleo"),
            idempotency_key=key(),
            correlation_id=correlation_id(None),
            amount=Money.of(900, "EUR"),
            method=PaymentMethod.CARD,
            country="NL",
            payment_token="tok_visa",
        )
    )
    assert view.status.value == "unknown"
    args = ("run", "record-payment-outcome", "--payment-id", view.payment_id)
    refused = cli(*args, "--as", "carl", "--status", "failed", "--reason", "dashboard")
    assert refused.exit_code != 0
    no_amount = cli(*args, "--as", "fin", "--status", "captured", "--reason", "dashboard", "--provider-reference", "x")
    assert no_amount.exit_code == 2, no_amount.stderr  # invalid input
    recorded = cli.ok(
        *args,
        "--as",
        "fin",
        "--status",
        "captured",
        "--amount",
        "9.00 EUR",
        "--provider-reference",
        "stripe_ch_0002",
        "--reason",
        "stripe dashboard: succeeded",
    )
    assert (recorded["payment"]["status"], recorded["payment"]["credited"]) == (
        "captured",
        {"minor": 900, "currency": "EUR"},
    )
    again = cli(*args, "--as", "fin", "--status", "failed", "--reason", "dashboard")
    assert again.exit_code == 4, again.stderr
    assert "payment_not_unresolved" in again.stderr


def test_reconcile_writes_the_report_and_exits_1_on_a_discrepancy(
    paid: tuple[World, Cli, FakePaymentGateway, str], tmp_path: Path
) -> None:
    world, cli, gateway, _payment_id = paid
    stray = PaymentId("pay_stray")
    planted = gateway.charge(
        ChargeRequest(
            payment_id=stray,
            amount=Money.of(777, "EUR"),
            method=PaymentMethod.CARD,
            country="NL",
            payer_id="usr_x",
            idempotency_key=charge_key(stray),
        )
    )
    start = (world.clock.now() - timedelta(days=1)).isoformat()
    end = (world.clock.now() + timedelta(days=1)).isoformat()
    out = tmp_path / "report.csv"
    args = ("payments", "reconcile", "--provider", "stripe", "--from", start, "--to", end, "--as", "fin")
    result = cli(*args, "--format", "csv", "--output", str(out))
    assert result.exit_code == 1, result.stderr
    assert "1 matched, 1 missing on our side" in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert sorted((r["kind"], r["provider_reference"]) for r in rows) == sorted(
        [("matched", next(iter(gateway.charges.keys()))), ("missing_ours", planted.provider_reference)]
    )

    as_json = cli(*args)
    report = json.loads(as_json.stdout)
    assert report["counts"]["discrepancies"] == 1

    refused = cli("payments", "reconcile", "--provider", "stripe", "--from", start, "--to", end, "--as", "carl")
    assert refused.exit_code != 0

    ran = cli.ok("run", "reconcile-provider", "--as", "fin", "--provider", "stripe", "--start", start, "--end", end)
    assert (ran["matched"], ran["missing_ours"]) == (1, 1)
