"""Releases, partial approvals, refunds, dispute holds and who may do what."""

from __future__ import annotations

import pytest

from core.escrow.domain import (
    AmountExceedsHeld,
    ContractNotFound,
    IllegalTransition,
    MilestoneStatus,
    ProviderNotFound,
    RefundNotProposed,
    SettlementDoesNotMatchHeld,
    TimeoutOutcome,
)
from core.escrow.use_cases.get_contract import GetContractQuery
from core.ledger.domain import InsufficientFunds
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.money import CurrencyMismatch, Money
from tests.unit.escrow.world import EscrowWorld, days, ids


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


def funded(world: EscrowWorld, client: Actor, provider: Actor, amount: int = 100_000, **kw: object) -> tuple[str, str]:
    cid, (mid,) = ids(world.contract(client, provider, amount, **kw))  # type: ignore[arg-type]
    world.fund(client, cid, mid)
    return cid, mid


# --- releases -------------------------------------------------------------------------


def test_a_partial_approval_releases_part_and_work_continues_on_the_rest(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    world.submit(provider, cid, mid)
    part = world.approve(client, cid, mid, eur(30_000))
    assert (part.status, part.held, part.fee, part.net) == (
        MilestoneStatus.FUNDED,
        eur(70_000),
        eur(3_000),
        eur(27_000),
    )
    assert world.escrow_balance(mid) == eur(70_000)
    with pytest.raises(IllegalTransition):  # the rest needs a new submission first
        world.approve(client, cid, mid)
    world.submit(provider, cid, mid)
    rest = world.approve(client, cid, mid)
    assert (rest.status, rest.held, rest.gross, rest.fee) == (MilestoneStatus.RELEASED, eur(0), eur(70_000), eur(7_000))
    view = world.milestone(client, cid, 1)
    assert (view.released, view.fees, view.submissions) == (eur(100_000), eur(10_000), 2)
    assert world.earnings(provider).pending == eur(90_000)
    assert world.fee_revenue() == 10_000
    assert world.totals() == {"EUR": 0}


def test_approving_more_than_is_held_is_refused(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = funded(world, client, provider)
    world.submit(provider, cid, mid)
    before = world.snapshot()
    with pytest.raises(AmountExceedsHeld):
        world.approve(client, cid, mid, eur(100_001))
    with pytest.raises(InvalidInput):
        world.approve(client, cid, mid, eur(0))
    with pytest.raises(CurrencyMismatch):
        world.approve(client, cid, mid, Money.of(10, "USD"))
    assert world.snapshot() == before


def test_a_partial_release_pays_the_fee_floor_per_release(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = funded(world, client, provider, 1_000)
    world.submit(provider, cid, mid)
    assert world.approve(client, cid, mid, eur(100)).fee == eur(50)  # 10 would be 10 %, the floor is 50
    world.submit(provider, cid, mid)
    assert world.approve(client, cid, mid, eur(30)).fee == eur(30)  # never above what is released
    assert world.fee_revenue() == 80


def test_funding_needs_the_money_in_the_clients_wallet(world: EscrowWorld, provider: Actor) -> None:
    client = world.funded_client("poor", 9_999)
    cid, (mid,) = ids(world.contract(client, provider, 10_000))
    with pytest.raises(InsufficientFunds):
        world.fund(client, cid, mid)
    assert world.milestone(client, cid, 1).status is MilestoneStatus.UNFUNDED
    assert world.earnings(client).available == eur(9_999)
    assert world.escrow_balance(mid) == eur(0)


# --- refunds --------------------------------------------------------------------------


def test_a_refund_both_parties_agree_on_goes_back_to_the_client(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    world.propose_refund(client, cid, mid, eur(40_000))
    assert world.milestone(provider, cid, 1).refund_proposal == eur(40_000)
    with pytest.raises(RefundNotProposed):
        world.agree_refund(provider, cid, mid, eur(50_000))
    part = world.agree_refund(provider, cid, mid, eur(40_000))
    assert (part.status, part.held, part.refunded) == (MilestoneStatus.FUNDED, eur(60_000), eur(40_000))
    assert world.earnings(client).available == eur(1_000_000 - 100_000 + 40_000)
    with pytest.raises(RefundNotProposed):  # a proposal is used once
        world.agree_refund(provider, cid, mid, eur(40_000))
    world.propose_refund(client, cid, mid, eur(60_000))
    rest = world.agree_refund(provider, cid, mid, eur(60_000))
    assert (rest.status, rest.held) == (MilestoneStatus.REFUNDED, eur(0))
    assert world.earnings(client).available == eur(1_000_000)
    assert world.escrow_balance(mid) == eur(0)
    assert world.fee_revenue() == 0


def test_a_submission_withdraws_the_refund_proposal(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = funded(world, client, provider)
    world.propose_refund(client, cid, mid, eur(10_000))
    world.submit(provider, cid, mid)
    world.request_changes(client, cid, mid)
    assert world.milestone(client, cid, 1).refund_proposal is None
    with pytest.raises(RefundNotProposed):
        world.agree_refund(provider, cid, mid, eur(10_000))


def test_the_client_cannot_agree_to_their_own_refund(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = funded(world, client, provider)
    world.propose_refund(client, cid, mid, eur(10_000))
    with pytest.raises(Forbidden):
        world.agree_refund(client, cid, mid, eur(10_000))


def test_support_refunds_any_held_amount_with_a_reason(
    world: EscrowWorld, client: Actor, provider: Actor, support: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    world.submit(provider, cid, mid)
    with pytest.raises(InvalidInput):
        world.support_refund(support, cid, mid, eur(1), reason="  ")
    part = world.support_refund(support, cid, mid, eur(25_000), reason="late delivery, agreed on the phone")
    assert (part.status, part.held) == (MilestoneStatus.SUBMITTED, eur(75_000))
    rest = world.support_refund(support, cid, mid)
    assert (rest.status, rest.refunded) == (MilestoneStatus.REFUNDED, eur(75_000))
    assert world.earnings(client).available == eur(1_000_000)
    store = world.runtime.persistence.store()
    reasons = [r.draft.after.get("reason") for chain in store.audit.values() for r in chain]
    assert "late delivery, agreed on the phone" in reasons


def test_only_support_refunds_without_the_other_partys_consent(
    world: EscrowWorld, client: Actor, provider: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    finance = world.user("finance", Persona.FINANCE)
    for actor in (client, provider, finance):
        with pytest.raises(Forbidden):
            world.support_refund(actor, cid, mid)


# --- dispute holds --------------------------------------------------------------------


def test_a_dispute_hold_freezes_release_and_refund(
    world: EscrowWorld, client: Actor, provider: Actor, support: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    world.submit(provider, cid, mid)
    held = world.open_hold(provider, cid, mid, reason="client went silent")
    assert held.status is MilestoneStatus.DISPUTED
    before = world.snapshot()
    for blocked in (
        lambda: world.approve(client, cid, mid),
        lambda: world.request_changes(client, cid, mid),
        lambda: world.propose_refund(client, cid, mid, eur(1)),
        lambda: world.support_refund(support, cid, mid),
        lambda: world.open_hold(client, cid, mid),
    ):
        with pytest.raises(IllegalTransition):
            blocked()
    assert world.snapshot() == before


def test_a_dispute_hold_is_settled_by_support_with_an_exact_split(
    world: EscrowWorld, client: Actor, provider: Actor, support: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    world.open_hold(client, cid, mid)
    before = world.snapshot()
    for release, refund in ((60_000, 39_999), (60_000, 40_001), (0, 0)):
        with pytest.raises(SettlementDoesNotMatchHeld):
            world.resolve(support, cid, mid, release=eur(release), refund=eur(refund))
    with pytest.raises(InvalidInput):
        world.resolve(support, cid, mid, release=eur(110_000), refund=eur(-10_000))
    with pytest.raises(InvalidInput):
        world.resolve(support, cid, mid, release=eur(60_000), refund=eur(40_000), reason="")
    with pytest.raises(Forbidden):
        world.resolve(client, cid, mid, release=eur(0), refund=eur(100_000))
    assert world.snapshot() == before
    settled = world.resolve(support, cid, mid, release=eur(60_000), refund=eur(40_000))
    assert (settled.status, settled.held, settled.fee, settled.net, settled.refunded) == (
        MilestoneStatus.SETTLED,
        eur(0),
        eur(6_000),
        eur(54_000),
        eur(40_000),
    )
    assert world.escrow_balance(mid) == eur(0)
    assert world.earnings(provider).pending == eur(54_000)
    assert world.earnings(client).available == eur(1_000_000 - 100_000 + 40_000)
    assert world.fee_revenue() == 6_000
    store = world.runtime.persistence.store()
    assert settled.entry_id is not None
    assert len(store.entries[settled.entry_id].postings) == 4  # one entry: escrow, pending, fee, client
    world.jump(days(5))
    assert world.earnings(provider).available == eur(54_000)


def test_a_settlement_wholly_in_the_clients_favour_charges_no_fee(
    world: EscrowWorld, client: Actor, provider: Actor, support: Actor
) -> None:
    cid, mid = funded(world, client, provider)
    world.open_hold(client, cid, mid)
    settled = world.resolve(support, cid, mid, release=eur(0), refund=eur(100_000))
    assert (settled.fee, settled.release_id) == (eur(0), None)
    assert world.earnings(client).available == eur(1_000_000)
    assert world.fee_revenue() == 0


# --- who may do what -----------------------------------------------------------------


def test_strangers_learn_nothing_about_a_contract(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, mid = funded(world, client, provider)
    stranger = world.funded_client("stranger", 0)
    with pytest.raises(ContractNotFound):
        world.view(stranger, cid)
    with pytest.raises(ContractNotFound):
        world.approve(stranger, cid, mid)
    with pytest.raises(ContractNotFound):
        world.view(stranger, "ctr_nonexistent")  # type: ignore[arg-type]


def test_staff_and_both_parties_see_the_contract(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, _ = funded(world, client, provider)
    for persona in (Persona.SUPPORT, Persona.FINANCE, Persona.ADMIN):
        staff = world.user(f"staff-{persona.value}", persona)
        assert world.view(staff, cid).contract_id == cid
    assert world.view(provider, cid).milestones[0].held == eur(100_000)


def test_a_party_acts_only_in_its_own_role(world: EscrowWorld, client: Actor) -> None:
    # Someone who is both a client and a provider elsewhere is still only the provider here.
    both = world.user("both", Persona.CLIENT, Persona.PROVIDER)
    world.deposit(both, world.wallet(both).wallet_id, eur(100_000))
    cid, mid = funded(world, client, both)
    world.submit(both, cid, mid)
    with pytest.raises(Forbidden):
        world.approve(both, cid, mid)
    with pytest.raises(Forbidden):
        world.submit(client, cid, mid)  # the client's personas do not allow submitting at all


def test_a_contract_needs_a_real_provider(world: EscrowWorld, client: Actor) -> None:
    other_client = world.user("other", Persona.CLIENT)
    support = world.user("helpdesk", Persona.SUPPORT)
    for provider_id in ("usr_missing", other_client.id, support.id):
        with pytest.raises(ProviderNotFound):
            world.contract(client, Actor(client.kind, provider_id, frozenset({Persona.PROVIDER})), 10_000)
    with pytest.raises(InvalidInput):
        world.contract(client, client, 10_000)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amounts": (0,)}, "milestones[0].amount"),
        ({"amounts": ()}, "milestones"),
        ({"due_in": days(-1)}, "milestones[0].due_at"),
        ({"auto_release_days": 0}, "milestones[0].auto_release_days"),
    ],
)
def test_malformed_contracts_are_refused(
    world: EscrowWorld, client: Actor, provider: Actor, change: dict[str, object], field: str
) -> None:
    amounts = change.pop("amounts", (10_000,))
    with pytest.raises(InvalidInput) as refused:
        world.contract(client, provider, *amounts, **change)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_the_fee_tier_is_snapshotted_when_the_contract_is_proposed() -> None:
    from core.escrow.domain import DEFAULT_TIER, EscrowPolicy, FeeSchedule, FeeTable

    policy = EscrowPolicy(fees=FeeTable({DEFAULT_TIER: FeeSchedule(bps=1_000), "agency": FeeSchedule(bps=500)}))
    world = EscrowWorld.in_memory(policy)
    client = world.funded_client("client", 100_000)
    agency = world.user("agency", Persona.AGENCY)
    view = world.contract(client, agency, 10_000, outcome=TimeoutOutcome.RELEASE)
    assert (view.fee_tier, view.fee_bps, view.milestones[0].fee_preview) == ("agency", 500, eur(500))
    assert world.uc.get_contract()(GetContractQuery(by=agency, contract_id=view.contract_id)).fee_bps == 500
