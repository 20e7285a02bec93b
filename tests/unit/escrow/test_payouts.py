"""Payouts: approval bands, maker-checker, exactly-once execution through the gateway."""

from __future__ import annotations

import pytest

from adapters.memory import SandboxPayoutGateway
from core.escrow.domain import (
    IllegalTransition,
    PayeeNotFound,
    PayoutAlreadyApproved,
    PayoutNotFound,
    PayoutSelfApproval,
    PayoutStatus,
)
from core.ledger.domain import AccountKind, EntryKind, InsufficientFunds
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.gateways import GatewayUnavailable
from core.shared.money import Money
from tests.unit.core.world import key
from tests.unit.escrow.world import TIMERS, EscrowWorld


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


@pytest.fixture
def earner(world: EscrowWorld) -> Actor:
    """A provider with 50,000.00 EUR available."""
    provider = world.user("earner", Persona.PROVIDER)
    world.deposit(provider, world.wallet(provider).wallet_id, eur(5_000_000))
    return provider


def gateway(world: EscrowWorld) -> SandboxPayoutGateway:
    sandbox: SandboxPayoutGateway = world.runtime.use_cases.payout_gateway()
    return sandbox


def entries_of(world: EscrowWorld, kind: EntryKind) -> int:
    return sum(1 for e in world.runtime.persistence.store().entries.values() if e.kind is kind)


def test_a_small_payout_is_approved_at_once_and_paid(world: EscrowWorld, earner: Actor) -> None:
    payout = world.request_payout(earner, eur(99_999))
    assert (payout.status, payout.required_approvals) == (PayoutStatus.APPROVED, 0)
    earned = world.earnings(earner)
    assert (earned.available, earned.in_transit) == (eur(5_000_000 - 99_999), eur(99_999))
    paid = world.execute_payout(TIMERS, payout.payout_id)
    assert paid.status is PayoutStatus.PAID and paid.reference is not None
    earned = world.earnings(earner)
    assert (earned.available, earned.in_transit) == (eur(5_000_000 - 99_999), eur(0))
    assert [(p.payout_id, p.amount) for p in gateway(world).payments] == [(payout.payout_id, eur(99_999))]
    # Deposited through the sandbox gateway, paid out through it: its clearing account nets.
    assert world.total_of(AccountKind.GATEWAY_CLEARING) == -5_000_000 + 99_999
    assert world.totals() == {"EUR": 0}


def test_a_payout_from_one_thousand_needs_one_approval(world: EscrowWorld, earner: Actor, finance: Actor) -> None:
    payout = world.request_payout(earner, eur(100_000))
    assert (payout.status, payout.required_approvals) == (PayoutStatus.REQUESTED, 1)
    with pytest.raises(IllegalTransition):
        world.execute_payout(TIMERS, payout.payout_id)
    assert gateway(world).calls == 0
    approved = world.approve_payout(finance, payout.payout_id)
    assert (approved.status, approved.approvals) == (PayoutStatus.APPROVED, (finance.id,))
    assert world.execute_payout(finance, payout.payout_id).status is PayoutStatus.PAID


def test_a_large_payout_needs_two_distinct_approvers(world: EscrowWorld, earner: Actor, finance: Actor) -> None:
    second = world.user("checker", Persona.FINANCE)
    payout = world.request_payout(earner, eur(1_000_000))
    assert payout.required_approvals == 2
    assert world.approve_payout(finance, payout.payout_id).status is PayoutStatus.REQUESTED
    with pytest.raises(PayoutAlreadyApproved):
        world.approve_payout(finance, payout.payout_id)
    still = world.payout(finance, payout.payout_id)
    assert (still.status, still.approvals) == (PayoutStatus.REQUESTED, (finance.id,))
    with pytest.raises(IllegalTransition):
        world.execute_payout(TIMERS, payout.payout_id)
    done = world.approve_payout(second, payout.payout_id)
    assert (done.status, done.approvals) == (PayoutStatus.APPROVED, (finance.id, second.id))
    with pytest.raises(IllegalTransition):  # no approvals beyond the requirement
        world.approve_payout(world.user("third", Persona.FINANCE), payout.payout_id)
    assert world.execute_payout(TIMERS, payout.payout_id).status is PayoutStatus.PAID


def test_the_payee_and_the_requester_never_approve(world: EscrowWorld, earner: Actor, finance: Actor) -> None:
    mine = world.request_payout(earner, eur(200_000))
    with pytest.raises(Forbidden):  # a provider holds no approval right at all
        world.approve_payout(earner, mine.payout_id)
    on_behalf = world.request_payout(finance, eur(200_000), payee_id=earner.id)
    assert (on_behalf.payee_id, on_behalf.requested_by) == (earner.id, finance.id)
    with pytest.raises(PayoutSelfApproval):  # the maker is not the checker
        world.approve_payout(finance, on_behalf.payout_id)
    assert world.payout(finance, on_behalf.payout_id).approvals == ()
    checker = world.user("checker", Persona.FINANCE)
    assert world.approve_payout(checker, on_behalf.payout_id).status is PayoutStatus.APPROVED


def test_each_approval_is_audited(world: EscrowWorld, earner: Actor, finance: Actor) -> None:
    payout = world.request_payout(earner, eur(1_000_000))
    world.approve_payout(finance, payout.payout_id)
    with pytest.raises(PayoutAlreadyApproved):
        world.approve_payout(finance, payout.payout_id)
    store = world.runtime.persistence.store()
    records = [r.draft for chain in store.audit.values() for r in chain if r.draft.action == "escrow.payout.approve"]
    assert sorted((r.actor, r.outcome.value) for r in records) == [
        (f"operator:{finance.id}", "rejected"),
        (f"operator:{finance.id}", "succeeded"),
    ]


def test_a_declined_payout_returns_the_money_to_the_wallet(world: EscrowWorld, earner: Actor) -> None:
    gateway(world).decline_payee(earner.id, "account closed")
    payout = world.request_payout(earner, eur(50_000))
    failed = world.execute_payout(TIMERS, payout.payout_id)
    assert (failed.status, failed.failure_reason) == (PayoutStatus.FAILED, "account closed")
    earned = world.earnings(earner)
    assert (earned.available, earned.in_transit) == (eur(5_000_000), eur(0))
    assert gateway(world).payments == []
    with pytest.raises(IllegalTransition):  # final: a new attempt is refused
        world.execute_payout(TIMERS, payout.payout_id)
    assert world.totals() == {"EUR": 0}


@pytest.mark.parametrize("after_processing", [False, True])
def test_an_unavailable_gateway_then_a_retry_with_the_same_key_pays_once(
    world: EscrowWorld, earner: Actor, after_processing: bool
) -> None:
    payout = world.request_payout(earner, eur(50_000))
    gateway(world).fail_next(1, after_processing=after_processing)
    k = key()
    with pytest.raises(GatewayUnavailable):
        world.execute_payout(TIMERS, payout.payout_id, k)
    pending = world.payout(TIMERS, payout.payout_id)
    assert (pending.status, pending.attempts) == (PayoutStatus.EXECUTING, 1)
    assert world.earnings(earner).in_transit == eur(50_000)
    paid = world.execute_payout(TIMERS, payout.payout_id, k)
    assert paid.status is PayoutStatus.PAID
    assert len(gateway(world).payments) == 1
    assert entries_of(world, EntryKind.PAYOUT_PAID) == 1
    calls = gateway(world).calls
    again = world.execute_payout(TIMERS, payout.payout_id, k)  # a late replay of the same request
    assert again == paid
    assert gateway(world).calls == calls  # answered from the store: the gateway is not asked again
    assert entries_of(world, EntryKind.PAYOUT_PAID) == 1
    assert world.earnings(earner).in_transit == eur(0)


def test_an_executing_payout_can_be_retried_with_another_key(world: EscrowWorld, earner: Actor) -> None:
    payout = world.request_payout(earner, eur(50_000))
    gateway(world).fail_next(2, after_processing=True)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            world.execute_payout(TIMERS, payout.payout_id)
    paid = world.execute_payout(TIMERS, payout.payout_id)
    assert (paid.status, paid.attempts) == (PayoutStatus.PAID, 3)
    assert len(gateway(world).payments) == 1


def test_a_payout_needs_the_money(world: EscrowWorld, earner: Actor) -> None:
    with pytest.raises(InsufficientFunds):
        world.request_payout(earner, eur(5_000_001))
    with pytest.raises(InvalidInput):
        world.request_payout(earner, eur(0))
    assert world.earnings(earner).available == eur(5_000_000)
    assert world.runtime.persistence.store().payouts == {}


def test_who_may_request_and_see_payouts(world: EscrowWorld, earner: Actor, client: Actor, finance: Actor) -> None:
    with pytest.raises(Forbidden):
        world.request_payout(client, eur(1))  # clients are not paid out
    with pytest.raises(Forbidden):
        world.request_payout(earner, eur(1), payee_id=client.id)  # only finance asks for someone else
    with pytest.raises(PayeeNotFound):
        world.request_payout(finance, eur(1), payee_id="usr_missing")
    payout = world.request_payout(earner, eur(1))
    assert world.payout(earner, payout.payout_id).payout_id == payout.payout_id
    other = world.user("other", Persona.PROVIDER)
    with pytest.raises(PayoutNotFound):
        world.payout(other, payout.payout_id)
    with pytest.raises(Forbidden):
        world.execute_payout(earner, payout.payout_id)


@pytest.mark.parametrize("stuck", [False, True])
def test_a_dry_run_execution_never_reaches_the_gateway(world: EscrowWorld, earner: Actor, stuck: bool) -> None:
    from core.escrow.use_cases.execute_payout import ExecutePayoutCommand

    payout = world.request_payout(earner, eur(50_000))
    if stuck:  # an execution whose outcome is unknown: a real run would call the gateway again
        gateway(world).fail_next(1)
        with pytest.raises(GatewayUnavailable):
            world.execute_payout(TIMERS, payout.payout_id)
    calls = gateway(world).calls
    dry_run = world.runtime.dry_run
    dry = dry_run.execute_payout()(world.command(ExecutePayoutCommand, TIMERS, payout_id=payout.payout_id))
    assert dry.status is (PayoutStatus.EXECUTING if stuck else PayoutStatus.APPROVED)
    assert (gateway(world).calls, dry_run.payout_gateway().calls) == (calls, 0)
    assert world.payout(TIMERS, payout.payout_id).attempts == (1 if stuck else 0)


def test_a_caller_key_cannot_block_the_completion_of_a_payout(world: EscrowWorld, earner: Actor) -> None:
    """The completion step is recorded by the system; the caller's own keys, whatever they
    are, cannot collide with it (a review found a caller could pre-empt its key)."""
    from core.shared.ids import IdempotencyKey

    payout = world.request_payout(earner, eur(1_000))
    paid = world.execute_payout(TIMERS, payout.payout_id, IdempotencyKey(f"payout:{payout.payout_id}:complete"))
    assert paid.status is PayoutStatus.PAID
    assert world.earnings(earner).in_transit == eur(0)
