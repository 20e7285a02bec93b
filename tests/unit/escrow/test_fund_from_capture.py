"""The hand-off from payments to escrow: a top-up captured for a milestone funds it from
the payer's wallet once, through the in-memory runtime and its event dispatcher; when it
cannot, no money moves and MilestoneFundingRefused says why."""

from __future__ import annotations

import attrs
import pytest
from dependency_injector import providers

from core.escrow.domain import (
    FundingRefusals,
    MilestoneFunded,
    MilestoneFundingRefused,
    MilestoneStatus,
)
from core.escrow.use_cases.fund_from_capture import CONSUMER_NAME
from core.messaging.use_cases.handle_event import Handled
from core.payments.domain import EscrowTarget, PaymentMethod, PaymentView, Route, RoutingPolicy
from core.payments.use_cases.start_top_up import StartTopUpCommand
from core.shared.actor import Actor, Persona
from core.shared.audit import AuditRecord
from core.shared.events import EventEnvelope
from core.shared.ids import EventId, correlation_id
from core.shared.money import Money
from tests.unit.core.world import key
from tests.unit.escrow.world import EscrowWorld, ids
from tests.unit.payments.fakes import FakePaymentGateway


@pytest.fixture
def world() -> EscrowWorld:
    world = EscrowWorld.in_memory()
    uc = world.runtime.use_cases
    uc.payment_gateways.override(providers.Object({"stripe": FakePaymentGateway("stripe", world.clock.now)}))
    uc.routing_policy.override(providers.Object(RoutingPolicy(routes=(Route(provider="stripe"),))))
    return world


def top_up(world: EscrowWorld, by: Actor, minor: int, escrow: EscrowTarget | None) -> PaymentView:
    view: PaymentView = world.uc.start_top_up()(
        StartTopUpCommand(
            by=by,
            idempotency_key=key(),
            correlation_id=correlation_id(None),
            amount=Money.of(minor, "EUR"),
            method=PaymentMethod.CARD,
            country="DE",
            payment_token="pm_card_visa",
            escrow=escrow,
        )
    )
    assert view.status.value == "captured"
    return view


def events(world: EscrowWorld, kind: type[object]) -> list[object]:
    return [row.event for row in world.runtime.persistence.store().outbox if isinstance(row.event, kind)]


def funding_audit(world: EscrowWorld) -> list[AuditRecord]:
    chains = world.runtime.persistence.store().audit.values()
    return [r for chain in chains for r in chain if r.draft.actor == "system:escrow_funding"]


def captured_envelope(world: EscrowWorld) -> EventEnvelope:
    rows = [r for r in world.runtime.persistence.store().outbox if r.event.name == "payments.payment_captured"]
    assert len(rows) == 1
    envelope: EventEnvelope = rows[0].envelope()
    return envelope


def parties(world: EscrowWorld, wallet_minor: int = 0) -> tuple[Actor, Actor]:
    client = world.funded_client("cleo", wallet_minor)
    provider = world.user("pia", Persona.PROVIDER)
    return client, provider


def test_a_capture_for_a_milestone_funds_it_from_the_payers_wallet_once(world: EscrowWorld) -> None:
    client, provider = parties(world, 200)
    contract_id, (milestone_id, _) = ids(world.contract(client, provider, 1_500, 700))
    top_up(world, client, 1_500, EscrowTarget(contract_id=contract_id, milestone_id=milestone_id))
    wallet = world.wallet_of(client)
    assert world.balance(client, wallet).minor == 1_700  # captured into the wallet first

    assert world.runtime.dispatch_events() > 0

    milestone = world.milestone(client, contract_id, 1)
    assert milestone.status is MilestoneStatus.FUNDED
    assert milestone.held.minor == 1_500
    assert world.balance(client, wallet).minor == 200  # back to what it was before
    assert world.escrow_balance(milestone_id).minor == 1_500
    assert world.milestone(client, contract_id, 2).status is MilestoneStatus.UNFUNDED
    funded = events(world, MilestoneFunded)
    assert [(e.milestone_id, e.amount.minor) for e in funded] == [(milestone_id, 1_500)]  # type: ignore[attr-defined]
    audit = funding_audit(world)
    assert [(r.draft.outcome.value, r.draft.after.get("for")) for r in audit] == [("succeeded", client.id)]

    # A second delivery of the same event (inbox), and the same capture under another
    # event id (domain level): nothing changes.
    before = world.snapshot()
    envelope = captured_envelope(world)
    handle = world.uc.handle_event()
    assert handle(CONSUMER_NAME, envelope) is Handled.DUPLICATE
    assert handle(CONSUMER_NAME, attrs.evolve(envelope, event_id=EventId("evt_replayed_capture"))) is (Handled.HANDLED)
    world.runtime.dispatch_events()
    assert world.snapshot() == before
    assert world.balance(client, wallet).minor == 200
    assert events(world, MilestoneFundingRefused) == []


def test_a_plain_top_up_leaves_escrow_alone(world: EscrowWorld) -> None:
    client, provider = parties(world)
    contract_id, (milestone_id,) = ids(world.contract(client, provider, 1_500))
    top_up(world, client, 1_500, None)
    world.runtime.dispatch_events()
    assert world.milestone(client, contract_id, 1).status is MilestoneStatus.UNFUNDED
    assert world.balance(client, world.wallet_of(client)).minor == 1_500
    assert world.escrow_balance(milestone_id).minor == 0


def assert_refused(world: EscrowWorld, payer: Actor, milestone_id: str, reason: str, wallet_minor: int) -> None:
    refused = events(world, MilestoneFundingRefused)
    assert [(e.milestone_id, e.reason, e.payer_id) for e in refused] == [  # type: ignore[attr-defined]
        (milestone_id, reason, payer.id)
    ]
    assert world.balance(payer, world.wallet_of(payer)).minor == wallet_minor  # the money stays there
    audit = funding_audit(world)
    assert [(r.draft.outcome.value, r.draft.reason) for r in audit] == [("rejected", reason)]


def test_another_payer_does_not_fund_the_clients_milestone(world: EscrowWorld) -> None:
    client, provider = parties(world)
    contract_id, (milestone_id,) = ids(world.contract(client, provider, 1_500))
    stranger = world.funded_client("sam", 0)
    top_up(world, stranger, 1_500, EscrowTarget(contract_id=contract_id, milestone_id=milestone_id))
    world.runtime.dispatch_events()
    assert world.milestone(client, contract_id, 1).status is MilestoneStatus.UNFUNDED
    assert world.escrow_balance(milestone_id).minor == 0
    assert_refused(world, stranger, milestone_id, FundingRefusals.PAYER_NOT_CLIENT, 1_500)


def test_an_amount_other_than_the_milestones_funds_nothing(world: EscrowWorld) -> None:
    client, provider = parties(world)
    contract_id, (milestone_id,) = ids(world.contract(client, provider, 1_500))
    top_up(world, client, 1_499, EscrowTarget(contract_id=contract_id, milestone_id=milestone_id))
    world.runtime.dispatch_events()
    assert world.milestone(client, contract_id, 1).status is MilestoneStatus.UNFUNDED
    assert world.escrow_balance(milestone_id).minor == 0
    assert_refused(world, client, milestone_id, FundingRefusals.AMOUNT_MISMATCH, 1_499)


def test_a_milestone_funded_already_is_not_funded_twice(world: EscrowWorld) -> None:
    client, provider = parties(world, 1_500)
    contract_id, (milestone_id,) = ids(world.contract(client, provider, 1_500))
    world.fund(client, contract_id, milestone_id)
    world.runtime.dispatch_events()
    top_up(world, client, 1_500, EscrowTarget(contract_id=contract_id, milestone_id=milestone_id))
    world.runtime.dispatch_events()
    assert world.escrow_balance(milestone_id).minor == 1_500
    assert_refused(world, client, milestone_id, FundingRefusals.NOT_FUNDABLE, 1_500)


def test_an_unknown_contract_funds_nothing(world: EscrowWorld) -> None:
    client, _ = parties(world)
    top_up(world, client, 1_500, EscrowTarget(contract_id="ctr_missing", milestone_id="mst_missing"))
    world.runtime.dispatch_events()
    assert_refused(world, client, "mst_missing", FundingRefusals.CONTRACT_NOT_FOUND, 1_500)
