"""Every action outside the milestone state machine's table is refused with a 409
``illegal_transition`` naming state and action, and changes nothing at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from attrs import frozen

from core.escrow.domain import ALLOWED, ContractId, IllegalTransition, MilestoneId, MilestoneStatus
from core.shared.actor import Actor, Persona
from core.shared.audit import Outcome
from core.shared.errors import ErrorCategory
from core.shared.money import Money
from tests.unit.escrow.world import EscrowWorld, days, ids

# The specification, written out independently of the code's table.
LEGAL: dict[str, set[str]] = {
    "fund": {"unfunded"},
    "submit": {"funded"},
    "approve": {"submitted"},
    "request_changes": {"submitted"},
    "propose_refund": {"funded"},
    "agree_refund": {"funded"},
    "support_refund": {"funded", "submitted"},
    "open_dispute_hold": {"funded", "submitted"},
    "resolve_dispute_hold": {"disputed"},
    "auto_release": {"submitted"},
    "time_out": {"unfunded", "funded"},
}
STATES = [s.value for s in MilestoneStatus]
USER_ACTIONS = [a for a in LEGAL if a not in ("auto_release", "time_out")]


def test_the_code_implements_the_specified_table() -> None:
    assert {a.value: {s.value for s in states} for a, states in ALLOWED.items()} == LEGAL


@frozen
class Scene:
    world: EscrowWorld
    client: Actor
    provider: Actor
    support: Actor
    contract_id: ContractId
    milestone_id: MilestoneId


def reach(state: str) -> Scene:
    world = EscrowWorld.in_memory()
    client = world.funded_client("client", 100_000)
    provider = world.user("provider", Persona.PROVIDER)
    support = world.user("support", Persona.SUPPORT)
    cid, (mid,) = ids(world.contract(client, provider, 10_000))
    scene = Scene(world, client, provider, support, cid, mid)
    steps: dict[str, list[Callable[[], object]]] = {
        "unfunded": [],
        "funded": [lambda: world.fund(client, cid, mid)],
        "submitted": [lambda: world.fund(client, cid, mid), lambda: world.submit(provider, cid, mid)],
        "disputed": [lambda: world.fund(client, cid, mid), lambda: world.open_hold(client, cid, mid)],
        "released": [
            lambda: world.fund(client, cid, mid),
            lambda: world.submit(provider, cid, mid),
            lambda: world.approve(client, cid, mid),
        ],
        "refunded": [lambda: world.fund(client, cid, mid), lambda: world.support_refund(support, cid, mid)],
        "settled": [
            lambda: world.fund(client, cid, mid),
            lambda: world.open_hold(provider, cid, mid),
            lambda: world.resolve(support, cid, mid, release=Money.of(4_000, "EUR"), refund=Money.of(6_000, "EUR")),
        ],
        "expired": [lambda: world.jump(days(31))],
    }
    for step in steps[state]:
        step()
    assert world.milestone(client, cid, 1).status.value == state
    return scene


def attempt(scene: Scene, action: str) -> None:
    w, cid, mid, eur = scene.world, scene.contract_id, scene.milestone_id, Money.of(1, "EUR")
    calls: dict[str, Callable[[], object]] = {
        "fund": lambda: w.fund(scene.client, cid, mid),
        "submit": lambda: w.submit(scene.provider, cid, mid),
        "approve": lambda: w.approve(scene.client, cid, mid),
        "request_changes": lambda: w.request_changes(scene.client, cid, mid),
        "propose_refund": lambda: w.propose_refund(scene.client, cid, mid, eur),
        "agree_refund": lambda: w.agree_refund(scene.provider, cid, mid, eur),
        "support_refund": lambda: w.support_refund(scene.support, cid, mid),
        "open_dispute_hold": lambda: w.open_hold(scene.client, cid, mid),
        "resolve_dispute_hold": lambda: w.resolve(scene.support, cid, mid, release=eur, refund=eur),
    }
    calls[action]()


ILLEGAL = [(state, action) for state in STATES for action in USER_ACTIONS if state not in LEGAL[action]]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_an_illegal_transition_is_a_conflict_and_changes_nothing(state: str, action: str) -> None:
    scene = reach(state)
    before = scene.world.snapshot()
    with pytest.raises(IllegalTransition) as refused:
        attempt(scene, action)
    error = refused.value
    assert (error.subject, error.state, error.action) == (scene.milestone_id, state, action)
    assert error.category is ErrorCategory.CONFLICT and error.code == "illegal_transition"
    assert state in error.detail and action in error.detail
    assert scene.world.snapshot() == before


def test_a_refusal_is_audited_as_rejected_with_its_code() -> None:
    scene = reach("released")
    with pytest.raises(IllegalTransition):
        attempt(scene, "approve")
    store = scene.world.runtime.persistence.store()
    last = max((r for chain in store.audit.values() for r in chain), key=lambda r: r.draft.at)
    assert (last.draft.action, last.draft.outcome, last.draft.reason) == (
        "escrow.milestone.approve",
        Outcome.REJECTED,
        "illegal_transition",
    )


def test_milestones_of_a_proposed_contract_cannot_be_funded(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    view = world.contract(client, provider, 10_000, accept=False)
    cid, (mid,) = ids(view)
    before = world.snapshot()
    with pytest.raises(IllegalTransition) as refused:
        world.fund(client, cid, mid)
    assert (refused.value.subject, refused.value.state) == (cid, "proposed")
    assert world.snapshot() == before


@pytest.mark.parametrize("decision", ["decline", "cancel"])
def test_a_declined_or_cancelled_contract_cannot_be_accepted(
    world: EscrowWorld, client: Actor, provider: Actor, decision: str
) -> None:
    from core.escrow.use_cases.cancel_contract import CancelContractCommand
    from core.escrow.use_cases.decline_contract import DeclineContractCommand

    cid, _ = ids(world.contract(client, provider, 10_000, accept=False))
    if decision == "decline":
        view = world.uc.decline_contract()(world.command(DeclineContractCommand, provider, contract_id=cid))
    else:
        view = world.uc.cancel_contract()(world.command(CancelContractCommand, client, contract_id=cid))
    assert view.status.value == {"decline": "declined", "cancel": "cancelled"}[decision]
    with pytest.raises(IllegalTransition):
        world.accept(provider, cid)
    assert world.fire().fired == ()  # no deadline was ever armed
    world.clock.advance(days(60))
    assert world.fire().fired == ()


def test_an_accepted_contract_cannot_be_accepted_again(world: EscrowWorld, client: Actor, provider: Actor) -> None:
    cid, _ = ids(world.contract(client, provider, 10_000))
    with pytest.raises(IllegalTransition) as refused:
        world.accept(provider, cid)
    assert refused.value.state == "active"
