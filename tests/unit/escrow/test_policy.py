from __future__ import annotations

from datetime import timedelta

import pytest

from core.escrow.domain import Actions, EscrowPolicy, TimerKinds
from core.identity.domain import PERMISSIONS, SYSTEM_ACTIONS, PolicyAuthorizer
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.errors import InvalidInput
from core.shared.timers import Timer

SYSTEM = Actor.system("timers")


def test_every_escrow_action_is_in_the_policy() -> None:
    assert set(PERMISSIONS) >= Actions.ALL
    assert set(PERMISSIONS) >= SYSTEM_ACTIONS


def test_timers_fire_as_the_system_only() -> None:
    policy = PolicyAuthorizer()
    staff = Actor(ActorKind.OPERATOR, "a", frozenset({Persona.ADMIN, Persona.SUPPORT, Persona.FINANCE}))
    user = Actor(ActorKind.USER, "u", frozenset({Persona.CLIENT, Persona.PROVIDER, Persona.AGENCY, Persona.MENTOR}))
    for action in (Actions.FIRE_TIMERS, Actions.AUTO_RELEASE, Actions.TIME_OUT, Actions.CLEAR_EARNINGS):
        assert policy.allows(SYSTEM, action)
        assert not policy.allows(staff, action)
        assert not policy.allows(user, action)


def test_money_moving_staff_actions_are_split_between_roles() -> None:
    policy = PolicyAuthorizer()
    support = Actor(ActorKind.OPERATOR, "s", frozenset({Persona.SUPPORT}))
    finance = Actor(ActorKind.OPERATOR, "f", frozenset({Persona.FINANCE}))
    user = Actor(ActorKind.USER, "u", frozenset({Persona.CLIENT, Persona.PROVIDER, Persona.AGENCY, Persona.MENTOR}))
    assert policy.allows(support, Actions.SUPPORT_REFUND) and not policy.allows(finance, Actions.SUPPORT_REFUND)
    assert policy.allows(finance, Actions.APPROVE_PAYOUT) and not policy.allows(support, Actions.APPROVE_PAYOUT)
    for action in (Actions.SUPPORT_REFUND, Actions.RESOLVE_DISPUTE_HOLD, Actions.APPROVE_PAYOUT):
        assert not policy.allows(user, action)
    assert policy.allows(SYSTEM, Actions.EXECUTE_PAYOUT) and policy.allows(finance, Actions.EXECUTE_PAYOUT)
    assert not policy.allows(SYSTEM, Actions.APPROVE_PAYOUT)


def test_the_default_policy_is_the_documented_one() -> None:
    policy = EscrowPolicy()
    assert (policy.auto_release_days, policy.clearing_period) == (14, timedelta(days=5))
    fee = policy.fees.tiers["default"]
    assert (fee.bps, fee.min_minor, fee.max_minor) == (1_000, 50, None)


@pytest.mark.parametrize(
    "fields", [{"auto_release_days": 0}, {"auto_release_days": 366}, {"clearing_period": timedelta(days=-1)}]
)
def test_a_malformed_policy_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        EscrowPolicy(**fields)  # type: ignore[arg-type]


def test_timers_carry_primitives_only() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    timer = Timer.new(TimerKinds.CLEARING, at, {"release_id": "rel_1", "net_minor": 5})
    assert (timer.text("release_id"), timer.number("net_minor")) == ("rel_1", 5)
    with pytest.raises(InvalidInput):
        Timer.new(TimerKinds.CLEARING, at, {"flag": True})
    with pytest.raises(InvalidInput):
        Timer.new("NoDots", at, {})
    with pytest.raises(InvalidInput):
        Timer.new(TimerKinds.CLEARING, datetime(2026, 1, 1), {})
