"""The issue's "Done when", in core terms: a contract with two milestones, accepted,
both funded and submitted; one approved, the other sent back for changes; exact balances
at every step, and the provider's earnings becoming available after the clearing period."""

from __future__ import annotations

from core.escrow.domain import (
    ContractStatus,
    MilestoneReleased,
    MilestoneStatus,
    TimeoutOutcome,
)
from core.ledger.domain import AccountKind
from core.shared.actor import Actor
from core.shared.money import Money
from tests.unit.escrow.world import EscrowWorld, days, ids

EUR = "EUR"
HOUR = days(1) / 24


def eur(minor: int) -> Money:
    return Money.of(minor, EUR)


def test_two_milestones_from_proposal_to_available_earnings(world: EscrowWorld, provider: Actor) -> None:
    client = world.funded_client("buyer", 200_000)
    proposed = world.contract(client, provider, 100_000, 50_000, accept=False, outcome=TimeoutOutcome.REFUND)
    assert proposed.status is ContractStatus.PROPOSED
    # The fee that will apply is shown before anything is funded: 10 %, at least 0.50.
    assert [(m.fee_preview, m.net_preview) for m in proposed.milestones] == [
        (eur(10_000), eur(90_000)),
        (eur(5_000), eur(45_000)),
    ]
    contract = world.accept(provider, proposed.contract_id)
    assert contract.status is ContractStatus.ACTIVE
    cid, (m1, m2) = ids(contract)

    world.fund(client, cid, m1)
    world.fund(client, cid, m2)
    assert world.earnings(client).available == eur(50_000)
    assert (world.escrow_balance(m1), world.escrow_balance(m2)) == (eur(100_000), eur(50_000))

    world.submit(provider, cid, m1)
    world.submit(provider, cid, m2)
    released = world.approve(client, cid, m1)
    assert (released.gross, released.fee, released.net) == (eur(100_000), eur(10_000), eur(90_000))
    assert released.status is MilestoneStatus.RELEASED
    changed = world.request_changes(client, cid, m2)
    assert (changed.status, changed.held) == (MilestoneStatus.FUNDED, eur(50_000))

    assert world.escrow_balance(m1) == eur(0)
    assert world.escrow_balance(m2) == eur(50_000)
    assert world.fee_revenue() == 10_000
    earned = world.earnings(provider)
    assert (earned.pending, earned.available) == (eur(90_000), eur(0))
    assert world.earnings(client).available == eur(50_000)
    assert world.totals() == {EUR: 0}

    # Not yet: an hour before the clearing period ends nothing clears.
    world.jump(days(5) - HOUR)
    assert world.earnings(provider).pending == eur(90_000)
    world.jump(HOUR)
    earned = world.earnings(provider)
    assert (earned.pending, earned.available) == (eur(0), eur(90_000))

    # Both auto-release timers fall due later and find nothing to do: the first
    # milestone was approved, the second sent back for changes.
    fired = world.jump(days(10))
    assert sorted(f.outcome for f in fired.fired) == ["obsolete", "obsolete"]
    view = world.view(client, cid)
    assert [(m.status, m.held) for m in view.milestones] == [
        (MilestoneStatus.RELEASED, eur(0)),
        (MilestoneStatus.FUNDED, eur(50_000)),
    ]
    assert view.milestones[1].changes_requested == 1
    assert world.earnings(provider).available == eur(90_000)
    assert world.fee_revenue() == 10_000
    assert world.totals() == {EUR: 0}
    # Every user-owned and escrow balance is accounted for by the deposit.
    assert world.total_of(AccountKind.GATEWAY_CLEARING) == -200_000


def test_a_release_records_its_fee_in_the_event_and_the_journal(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, (m1,) = ids(world.contract(client, provider, 12_345))
    world.fund(client, cid, m1)
    world.submit(provider, cid, m1)
    released = world.approve(client, cid, m1)
    store = world.runtime.persistence.store()
    events = [row.event for row in store.outbox if isinstance(row.event, MilestoneReleased)]
    assert [(e.gross, e.fee, e.net) for e in events] == [(eur(12_345), eur(1_235), eur(11_110))]
    assert released.entry_id is not None
    entry = store.entries[released.entry_id]
    assert "fee 12.35 EUR" in entry.memo and "net 111.10 EUR" in entry.memo
    assert sorted(p.amount.minor for p in entry.postings) == [-12_345, 1_235, 11_110]


def test_every_transition_is_audited_and_emits_its_event(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    from core.shared.audit import Outcome

    store = world.runtime.persistence.store()
    audited = sum(len(chain) for chain in store.audit.values())
    events = len(store.outbox)
    cid, (m1,) = ids(world.contract(client, provider, 10_000))
    world.fund(client, cid, m1)
    world.submit(provider, cid, m1)
    world.approve(client, cid, m1)
    world.jump(days(5))
    records = sorted((r.draft for chain in store.audit.values() for r in chain), key=lambda d: d.at)[audited:]
    assert [(r.action, r.outcome) for r in records] == [
        ("escrow.contract.create", Outcome.SUCCEEDED),
        ("escrow.contract.accept", Outcome.SUCCEEDED),
        ("escrow.milestone.fund", Outcome.SUCCEEDED),
        ("escrow.milestone.submit", Outcome.SUCCEEDED),
        ("escrow.milestone.approve", Outcome.SUCCEEDED),
        ("escrow.earnings.clear", Outcome.SUCCEEDED),
    ]
    assert records[4].after["fee_minor"] == 1_000
    assert records[5].actor == "system:timers"
    assert [row.event.name for row in store.outbox[events:]] == [
        "escrow.contract_created",
        "escrow.contract_decided",
        "escrow.milestone_funded",
        "escrow.milestone_submitted",
        "escrow.milestone_released",
        "escrow.earnings_cleared",
    ]
