"""Escrow through ``gigcore run`` on a SQLite file: support reads a contract and settles a
dispute hold, finance pays out under maker-checker. The marketplace steps (propose,
accept, fund, submit, open the hold) are the parties' own, so they run through a runtime
over the same file, as an embedding marketplace would run them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.escrow.domain import ContractView
from core.escrow.use_cases.accept_contract import AcceptContractCommand
from core.escrow.use_cases.create_contract import CreateContractCommand, MilestoneSpec
from core.escrow.use_cases.fund_milestone import FundMilestoneCommand
from core.escrow.use_cases.open_dispute_hold import OpenDisputeHoldCommand
from core.escrow.use_cases.submit_milestone import SubmitMilestoneCommand
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.ids import correlation_id, idempotency_key
from core.shared.money import Currency, Money
from entrypoints.container import Runtime, build
from entrypoints.settings import Settings

from .conftest import Cli

People = dict[str, dict[str, Any]]


def eur(minor: int) -> dict[str, Any]:
    return {"minor": minor, "currency": "EUR"}


def member(person: dict[str, Any], persona: Persona) -> Actor:
    return Actor(ActorKind.USER, person["user_id"], frozenset({persona}))


def envelope(by: Actor) -> dict[str, Any]:
    return {"by": by, "idempotency_key": idempotency_key(uuid.uuid4().hex), "correlation_id": correlation_id(None)}


@pytest.fixture
def marketplace(database_path: Path, staff: People) -> Iterator[Runtime]:
    """The runtime an embedding marketplace holds, over the CLI's database file."""
    runtime = build(Settings(database_url=f"sqlite:///{database_path}"))
    runtime.start()
    yield runtime
    runtime.stop()


@pytest.fixture
def disputed(cli: Cli, staff: People, marketplace: Runtime) -> tuple[str, str]:
    """Alice (500.00 EUR deposited by finance) hired Bob for one 100.00 EUR milestone,
    funded it, Bob submitted, and Alice opened a dispute hold."""
    opened = cli.ok("run", "open-wallet", "--as", "sam", "--currency", "EUR", "--owner-id", staff["alice"]["user_id"])
    cli.ok("run", "deposit-sandbox-funds", "--as", "fin", "--wallet-id", opened["wallet_id"], "--amount", "500 EUR")
    alice, bob = member(staff["alice"], Persona.CLIENT), member(staff["bob"], Persona.PROVIDER)
    uc = marketplace.use_cases
    spec = MilestoneSpec(
        title="Logo", amount=Money.of(10_000, "EUR"), due_at=marketplace.platform.clock().now() + timedelta(days=30)
    )
    view: ContractView = uc.create_contract()(
        CreateContractCommand(**envelope(alice), provider_id=bob.id, currency=Currency("EUR"), milestones=(spec,))
    )
    contract_id, milestone_id = view.contract_id, view.milestones[0].milestone_id
    uc.accept_contract()(AcceptContractCommand(**envelope(bob), contract_id=contract_id))
    uc.fund_milestone()(FundMilestoneCommand(**envelope(alice), contract_id=contract_id, milestone_id=milestone_id))
    uc.submit_milestone()(SubmitMilestoneCommand(**envelope(bob), contract_id=contract_id, milestone_id=milestone_id))
    uc.open_dispute_hold()(
        OpenDisputeHoldCommand(
            **envelope(alice), contract_id=contract_id, milestone_id=milestone_id, reason="not what we agreed"
        )
    )
    return contract_id, milestone_id


def test_support_settles_a_dispute_hold_and_the_money_lands_exactly(
    cli: Cli, staff: People, disputed: tuple[str, str]
) -> None:
    contract_id, milestone_id = disputed
    ids = ("--contract-id", contract_id, "--milestone-id", milestone_id)

    seen = cli.ok("run", "get-contract", "--as", "sam", "--contract-id", contract_id)
    assert [(m["status"], m["held"]) for m in seen["milestones"]] == [("disputed", eur(10_000))]

    refused = cli("run", "approve-milestone", "--as", "sam", *ids)  # a client's step, not support's
    assert refused.exit_code == 5
    assert "[forbidden]" in refused.stderr

    mismatch = cli(
        "run", "resolve-dispute-hold", "--as", "sam", *ids,
        "--release", "60 EUR", "--refund", "30 EUR", "--reason", "split after mediation",
    )  # fmt: skip
    assert mismatch.exit_code == 6
    assert "[settlement_does_not_match_held]" in mismatch.stderr

    settled = cli.ok(
        "run", "resolve-dispute-hold", "--as", "sam", *ids,
        "--release", "60.00 EUR", "--refund", "40.00 EUR", "--reason", "split after mediation",
    )  # fmt: skip
    assert (settled["status"], settled["held"]) == ("settled", eur(0))
    assert (settled["gross"], settled["fee"], settled["net"], settled["refunded"]) == (
        eur(6_000),
        eur(600),
        eur(5_400),
        eur(4_000),
    )

    alice = cli.ok("run", "get-earnings", "--as", "fin", "--currency", "EUR", "--user-id", staff["alice"]["user_id"])
    bob = cli.ok("run", "get-earnings", "--as", "fin", "--currency", "EUR", "--user-id", staff["bob"]["user_id"])
    assert alice["available"] == eur(50_000 - 10_000 + 4_000)
    assert (bob["pending"], bob["available"]) == (eur(5_400), eur(0))

    again = cli("run", "refund-milestone", "--as", "sam", *ids, "--reason", "twice?")
    assert again.exit_code == 4
    assert "[illegal_transition]" in again.stderr

    timers = cli.ok("timers", "fire")  # the clearing falls due in five days, not now
    assert timers == {"fired": [], "failed": []}
    assert cli("audit", "verify").stdout.startswith("OK:")


def test_finance_pays_out_with_a_second_checker_exactly_once(cli: Cli, staff: People) -> None:
    checker = cli.user("fin2", "finance")["user_id"]
    bob = staff["bob"]["user_id"]
    wallet = cli.ok("run", "open-wallet", "--as", "sam", "--currency", "EUR", "--owner-id", bob)
    cli.ok("run", "deposit-sandbox-funds", "--as", "fin", "--wallet-id", wallet["wallet_id"], "--amount", "2000 EUR")

    requested = cli.ok("run", "request-payout", "--as", "fin", "--payee-id", bob, "--amount", "1500.00 EUR")
    payout = ("--payout-id", requested["payout_id"])
    assert (requested["status"], requested["required_approvals"]) == ("requested", 1)

    own = cli("run", "approve-payout", "--as", "fin", *payout)  # maker-checker: not the requester
    assert own.exit_code == 5
    assert "[payout_self_approval]" in own.stderr
    early = cli("run", "execute-payout", "--as", "fin", *payout)
    assert early.exit_code == 4

    approved = cli.ok("run", "approve-payout", "--as", checker, *payout)
    assert (approved["status"], approved["approvals"]) == ("approved", [checker])

    dry = cli("run", "execute-payout", "--as", "fin", "--dry-run", *payout)
    assert dry.exit_code == 0
    assert cli.ok("run", "get-payout", "--as", "sam", *payout)["status"] == "approved"

    paid = cli.ok("run", "execute-payout", "--as", "fin", "--idempotency-key", "payout-run-0001", *payout)
    replay = cli.ok("run", "execute-payout", "--as", "fin", "--idempotency-key", "payout-run-0001", *payout)
    assert paid["status"] == "paid"
    assert paid["reference"]
    assert replay == paid
    assert cli("run", "execute-payout", "--as", "fin", *payout).exit_code == 4  # paid once, never again

    earnings = cli.ok("run", "get-earnings", "--as", "fin", "--currency", "EUR", "--user-id", bob)
    assert (earnings["available"], earnings["in_transit"]) == (eur(50_000), eur(0))
