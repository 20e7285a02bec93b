"""The janitor alerts once when a payment is still unresolved at the daily step of its
look-ups; a debit the provider accepted and that takes days by nature waits a week more."""

from __future__ import annotations

from datetime import timedelta

from core.payments.domain import (
    RESOLVE_BACKOFF,
    AlertKind,
    PaymentAlertRaised,
    PaymentMethod,
    PaymentStatus,
    ProviderStatus,
    resolve_delay,
)
from core.payments.use_cases.resolve_unknown_payments import SLOW_PATIENCE_DAYS
from tests.unit.payments.world import PaymentsWorld, client

alice = client("alice")


def _alerts(world: PaymentsWorld) -> list[PaymentAlertRaised]:
    return [
        e
        for e in world.events_named("payments.alert_raised")
        if isinstance(e, PaymentAlertRaised) and e.kind is AlertKind.UNKNOWN_UNRESOLVED
    ]


def _run_steps(world: PaymentsWorld, steps: range) -> list[int]:
    """Fire look-up number ``step`` for each step; the steps after which an alert was new."""
    alerted: list[int] = []
    for step in steps:
        seen = len(_alerts(world))
        world.clock.advance(resolve_delay(step) + timedelta(seconds=1))
        world.run_janitor()
        if len(_alerts(world)) > seen:
            alerted.append(step)
    return alerted


def test_a_lost_answer_is_alerted_once_when_its_look_ups_go_daily() -> None:
    world = PaymentsWorld()
    world.gateways["stripe"].lose_answers = 1
    world.gateways["stripe"].lookups_unavailable = True
    view = world.top_up(alice, 1_000)
    assert view.status is PaymentStatus.UNKNOWN

    alerted = _run_steps(world, range(len(RESOLVE_BACKOFF) + 3))

    assert alerted == [len(RESOLVE_BACKOFF) - 2]  # scheduling the first daily look-up
    assert len(_alerts(world)) == 1


def test_a_sepa_debit_the_provider_accepted_is_given_a_week_before_anyone_is_alerted() -> None:
    world = PaymentsWorld()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 1_000, method=PaymentMethod.SEPA_DEBIT)
    assert view.status is PaymentStatus.CREATED and view.provider_reference is not None

    alerted = _run_steps(world, range(len(RESOLVE_BACKOFF) + SLOW_PATIENCE_DAYS + 2))

    assert alerted == [len(RESOLVE_BACKOFF) - 2 + SLOW_PATIENCE_DAYS]
    assert world.payment(view.payment_id).status is PaymentStatus.CREATED
