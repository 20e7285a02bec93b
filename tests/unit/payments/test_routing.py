from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.payments.domain import (
    BreakerMode,
    BreakerPolicy,
    BreakerState,
    NoProviderAvailable,
    PaymentMethod,
    PaymentStatus,
    Route,
    RoutingPolicy,
)
from core.shared.money import Currency
from tests.unit.payments.world import PaymentsWorld, client

T0 = datetime(2026, 3, 1, tzinfo=UTC)
POLICY = BreakerPolicy(failure_threshold=2, cool_down=timedelta(seconds=30))


def test_routing_picks_providers_by_currency_country_and_method_in_priority_order() -> None:
    policy = RoutingPolicy(
        routes=(
            Route(provider="paypal", priority=5, methods=frozenset({PaymentMethod.PAYPAL})),
            Route(provider="adyen", priority=2, countries=frozenset({"NL", "DE"})),
            Route(provider="stripe", priority=1, currencies=frozenset({"EUR", "USD"})),
        )
    )
    eur = Currency("EUR")
    assert policy.candidates(eur, "DE", PaymentMethod.CARD) == ["stripe", "adyen"]
    assert policy.candidates(Currency("GBP"), "NL", PaymentMethod.IDEAL) == ["adyen"]
    assert policy.candidates(eur, "US", PaymentMethod.PAYPAL) == ["stripe", "paypal"]
    assert policy.candidates(Currency("JPY"), "JP", PaymentMethod.CARD) == []


def test_the_breaker_opens_after_the_threshold_and_half_opens_after_the_cool_down() -> None:
    state = BreakerState(provider="stripe").failed(T0, POLICY)
    assert state.mode(T0, POLICY) is BreakerMode.CLOSED
    state = state.failed(T0, POLICY)
    assert state.mode(T0 + timedelta(seconds=29), POLICY) is BreakerMode.OPEN
    assert not state.allows(T0 + timedelta(seconds=29), POLICY)
    assert state.mode(T0 + timedelta(seconds=30), POLICY) is BreakerMode.HALF_OPEN
    assert state.allows(T0 + timedelta(seconds=30), POLICY)


def test_a_failed_trial_reopens_the_breaker_and_a_success_closes_it() -> None:
    state = BreakerState(provider="stripe").failed(T0, POLICY).failed(T0, POLICY)
    later = T0 + timedelta(minutes=1)
    reopened = state.failed(later, POLICY)
    assert reopened.mode(later + timedelta(seconds=1), POLICY) is BreakerMode.OPEN
    assert state.succeeded().mode(later, POLICY) is BreakerMode.CLOSED


def test_an_unavailable_provider_falls_back_to_the_next_without_charging_twice() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].unavailable = True
    view = world.top_up(alice, 5_000)
    assert view.status is PaymentStatus.CAPTURED
    assert view.provider == "adyen"
    assert world.payment(view.payment_id).attempted == ("stripe",)
    assert world.gateways["stripe"].charges == {}
    assert len(world.gateways["adyen"].charged(view.payment_id)) == 1
    assert world.wallet_balance(alice) == 5_000
    assert world.clearing_balance("adyen") == -5_000
    assert world.clearing_balance("stripe") == 0


def test_an_open_circuit_routes_the_next_payment_straight_to_the_fallback() -> None:
    world, alice = PaymentsWorld(breaker=POLICY), client()
    world.gateways["stripe"].unavailable = True
    world.top_up(alice, 100)
    world.top_up(alice, 100)  # the second unavailable answer opens stripe's circuit
    calls = world.gateways["stripe"].calls
    view = world.top_up(alice, 100)
    assert view.provider == "adyen"
    assert world.gateways["stripe"].calls == calls  # not even tried
    world.clock.advance(timedelta(seconds=31))
    world.gateways["stripe"].unavailable = False
    assert world.top_up(alice, 100).provider == "stripe"  # half-open trial succeeds


def test_an_unknown_outcome_is_never_retried_on_another_provider() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].lose_answers = 1  # charged, but the answer is lost
    view = world.top_up(alice, 2_000)
    assert view.status is PaymentStatus.UNKNOWN
    assert world.gateways["adyen"].calls == 0
    assert len(world.gateways["stripe"].charged(view.payment_id)) == 1
    assert world.wallet_balance(alice) == 0  # nothing credited until resolved


def test_when_every_provider_is_unavailable_the_payment_fails_uncharged() -> None:
    world, alice = PaymentsWorld(), client()
    for gateway in world.gateways.values():
        gateway.unavailable = True
    view = world.top_up(alice, 100)
    assert view.status is PaymentStatus.FAILED
    assert all(not g.charges for g in world.gateways.values())


def test_with_every_circuit_open_the_top_up_is_refused_and_nothing_stored() -> None:
    world, alice = PaymentsWorld(breaker=BreakerPolicy(failure_threshold=1)), client()
    for gateway in world.gateways.values():
        gateway.unavailable = True
    world.top_up(alice, 100)
    before = dict(world.store.payments_tables.payments)
    with pytest.raises(NoProviderAvailable):
        world.top_up(alice, 100)
    assert world.store.payments_tables.payments == before


def test_every_payments_action_is_in_the_policy_and_the_system_runs_the_background_ones() -> None:
    from core.identity.domain import PERMISSIONS, SYSTEM_ACTIONS
    from core.payments.domain import Actions

    assert set(PERMISSIONS) >= Actions.ALL
    background = {
        Actions.RECORD_CHARGE,
        Actions.RECEIVE_EVENTS,
        Actions.APPLY_EVENT,
        Actions.RESOLVE_UNKNOWN,
        Actions.CHECK_HOLD_DEADLINE,
    }
    assert background <= SYSTEM_ACTIONS
    assert all(PERMISSIONS[a] == frozenset() for a in background)  # never a person


_FAULTS = ("ok", "unavailable", "lost", "declined")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_FAULTS), st.sampled_from(_FAULTS), st.integers(1, 5_000)), min_size=1, max_size=8
    )
)
def test_whatever_the_providers_do_no_payment_is_charged_twice_and_the_wallet_holds_the_captures(
    plan: list[tuple[str, str, int]],
) -> None:
    world, alice = PaymentsWorld(breaker=BreakerPolicy(failure_threshold=2, cool_down=timedelta(seconds=10))), client()
    payments = []
    for stripe_fault, adyen_fault, minor in plan:
        for gateway, fault in ((world.gateways["stripe"], stripe_fault), (world.gateways["adyen"], adyen_fault)):
            gateway.unavailable = fault == "unavailable"
            gateway.lose_answers = 1 if fault == "lost" else 0
            if fault == "declined":
                gateway.decline_next()
        with contextlib.suppress(NoProviderAvailable):  # every circuit open: nothing stored
            payments.append(world.top_up(alice, minor).payment_id)
        for gateway in world.gateways.values():
            gateway.clear_declines()
        world.clock.advance(timedelta(seconds=11))
    for gateway in world.gateways.values():
        gateway.unavailable, gateway.lose_answers = False, 0
    world.clock.advance(timedelta(days=3))
    for _ in range(3):
        world.run_janitor()
        world.clock.advance(timedelta(days=1))
    captured = 0
    for payment_id in payments:
        charges = [c for g in world.gateways.values() for c in g.charged(payment_id)]
        assert len(charges) <= 1
        payment = world.payment(payment_id)
        assert payment.status in (PaymentStatus.CAPTURED, PaymentStatus.FAILED)
        assert (payment.status is PaymentStatus.CAPTURED) == bool(charges)
        if charges:
            captured += payment.amount.minor
    assert world.wallet_balance(alice) == captured
