"""The janitor retries refund calls that got no answer (``payments.refund_retry``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.payments.domain import (
    REFUND_RESEND_WINDOW,
    RESOLVE_BACKOFF,
    AlertKind,
    PaymentAlertRaised,
    PaymentId,
    PaymentStatus,
    RefundRequest,
    RefundResult,
    RefundStatus,
    TimerKinds,
    refund_key,
    resolve_delay,
)
from core.payments.use_cases.refund_payment import RefundPaymentCommand
from core.shared.gateways import GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.ids import IdempotencyKey, correlation_id
from tests.unit.payments.world import PaymentsWorld, client, eur, operator


def _spy_keys(world: PaymentsWorld, provider: str = "stripe") -> list[str]:
    """Record the outbound key of every refund call to ``provider``."""
    gateway = world.gateways[provider]
    keys: list[str] = []
    real = gateway.refund

    def refund(request: RefundRequest) -> RefundResult:
        keys.append(request.idempotency_key)
        return real(request)

    gateway.refund = refund  # type: ignore[method-assign]
    return keys


def _pending_refund_timers(world: PaymentsWorld) -> list[str]:
    return sorted(
        row.timer.id
        for row in world.store.timers.values()
        if row.timer.kind == TimerKinds.REFUND_RETRY and row.fired_at is None
    )


def _refund_outcomes(world: PaymentsWorld) -> list[tuple[str, str | None]]:
    """Run the janitor; the outcomes of the refund retries it fired (not the charges' look-ups)."""
    return [(r.outcome, r.refund_id) for r in world.run_janitor().resolved if r.refund_id is not None]


def _refund_unavailable(world: PaymentsWorld, payment_id: PaymentId, minor: int) -> None:
    world.gateways["stripe"].unavailable = True
    with pytest.raises(GatewayUnavailable):
        world.refund(payment_id, minor)
    world.gateways["stripe"].unavailable = False


def test_a_refund_the_provider_was_unavailable_for_is_retried_with_the_same_key_and_succeeds() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    keys = _spy_keys(world)
    _refund_unavailable(world, view.payment_id, 400)
    assert world.wallet_balance(alice) == 600  # debited at the intent
    [refund] = world.payment(view.payment_id).refunds
    assert refund.status is RefundStatus.PENDING
    world.clock.advance(resolve_delay(0))
    assert _refund_outcomes(world) == [("resolved", refund.id)]
    payment = world.payment(view.payment_id)
    assert [r.status for r in payment.refunds] == [RefundStatus.SUCCEEDED]
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert keys == [refund_key(view.payment_id, refund.id)] * 2
    assert len(world.gateways["stripe"].refunds) == 1
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_refund") == 1
    world.clock.advance(timedelta(days=3))
    assert world.run_janitor().resolved == ()  # nothing left to retry
    assert len(keys) == 2


def test_a_refund_whose_answer_was_lost_is_retried_and_refunded_only_once() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    world.gateways["stripe"].lose_answers = 1
    with pytest.raises(GatewayOutcomeUnknown):
        world.refund(view.payment_id, 250)
    world.clock.advance(resolve_delay(0))
    world.run_janitor()
    payment = world.payment(view.payment_id)
    [refund] = payment.refunds
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.provider_reference == "stripe_re_0001"
    assert len(world.gateways["stripe"].refunds) == 1  # the same key: the provider answered as the first time
    assert world.gateways["stripe"].charges[view.provider_reference or ""].refunded == 250
    assert world.wallet_balance(alice) == 750
    assert world.entries_of_kind("payment_refund") == 1


def test_a_retried_refund_the_provider_declines_fails_and_is_booked_back_once() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    _refund_unavailable(world, view.payment_id, 500)
    world.gateways["stripe"].charges[view.provider_reference or ""].refunded = 1_000  # refunded elsewhere
    world.clock.advance(resolve_delay(0))
    world.run_janitor()
    [refund] = world.payment(view.payment_id).refunds
    assert refund.status is RefundStatus.FAILED
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind("payment_refund_reversal") == 1
    world.clock.advance(timedelta(days=3))
    world.run_janitor()
    assert world.entries_of_kind("payment_refund_reversal") == 1
    assert world.wallet_balance(alice) == 1_000


def test_a_provider_that_stays_unavailable_is_retried_on_the_backoff_schedule_and_alerted_once() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    world.gateways["stripe"].unavailable = True
    with pytest.raises(GatewayUnavailable):
        world.refund(view.payment_id, 300)
    for step in range(len(RESOLVE_BACKOFF) + 1):
        [timer_id] = _pending_refund_timers(world)
        assert timer_id.endswith(f"_{step}")
        world.clock.advance(resolve_delay(step) - timedelta(seconds=1))
        assert _refund_outcomes(world) == []  # not due yet
        world.clock.advance(timedelta(seconds=1))
        assert [outcome for outcome, _ in _refund_outcomes(world)] == ["retry"]
    [refund] = world.payment(view.payment_id).refunds
    assert refund.status is RefundStatus.PENDING
    alerts = [
        e
        for e in world.events_named("payments.alert_raised")
        if isinstance(e, PaymentAlertRaised) and e.kind is AlertKind.REFUND_UNRESOLVED
    ]
    assert len(alerts) == 1
    assert world.wallet_balance(alice) == 700
    world.gateways["stripe"].unavailable = False
    world.clock.advance(timedelta(days=1))
    world.run_janitor()
    assert world.payment(view.payment_id).refunds[0].status is RefundStatus.SUCCEEDED
    assert world.wallet_balance(alice) == 700
    assert world.entries_of_kind("payment_refund") == 1
    assert _pending_refund_timers(world) == []


def test_a_refund_answered_at_once_makes_its_retry_timer_obsolete() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    keys = _spy_keys(world)
    world.refund(view.payment_id, 100)
    world.clock.advance(resolve_delay(0))
    outcomes = sorted((r.refund_id is not None, r.outcome) for r in world.run_janitor().resolved)
    assert outcomes == [(False, "obsolete"), (True, "obsolete")]  # the charge's and the refund's timers
    assert len(keys) == 1  # never called again
    assert _pending_refund_timers(world) == []


# --- refunds that may have reached the provider (REFUND_RESEND_WINDOW) -----------------------


def _refund_alerts(world: PaymentsWorld) -> list[PaymentAlertRaised]:
    return [
        e
        for e in world.events_named("payments.alert_raised")
        if isinstance(e, PaymentAlertRaised) and e.kind is AlertKind.REFUND_UNRESOLVED
    ]


def _maybe_sent_then_unavailable(world: PaymentsWorld, payment_id: PaymentId, minor: int, *, first: str) -> None:
    """A refund call whose answer was lost (the provider took it), at the first call or at
    the janitor's first retry after an outage; the provider is unavailable from then on."""
    gateway = world.gateways["stripe"]
    if first == "call":
        gateway.lose_answers = 1
        with pytest.raises(GatewayOutcomeUnknown):
            world.refund(payment_id, minor)
    else:
        _refund_unavailable(world, payment_id, minor)
        world.clock.advance(resolve_delay(0))
        gateway.lose_answers = 1
        assert [outcome for outcome, _ in _refund_outcomes(world)] == ["retry"]
    gateway.unavailable = True


def _run_janitor_until(world: PaymentsWorld, until: timedelta) -> None:
    """Fire every refund timer due within ``until`` from now, one at a time."""
    end = world.clock.now() + until
    while True:
        due = sorted(
            row.timer.due_at
            for row in world.store.timers.values()
            if row.timer.kind == TimerKinds.REFUND_RETRY and row.fired_at is None
        )
        if not due or due[0] > end:
            break
        world.clock.advance(max(due[0] - world.clock.now(), timedelta(0)))
        world.run_janitor()
    world.clock.advance(end - world.clock.now())


@pytest.mark.parametrize("first", ["call", "retry"])
def test_a_refund_that_may_have_reached_the_provider_is_not_sent_again_after_the_window(first: str) -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    keys = _spy_keys(world)
    _maybe_sent_then_unavailable(world, view.payment_id, 400, first=first)
    [refund] = world.payment(view.payment_id).refunds
    assert refund.maybe_sent_at is not None
    sent_at = refund.maybe_sent_at
    _run_janitor_until(world, REFUND_RESEND_WINDOW)
    sent_in_window = len(keys)
    assert sent_in_window > 2  # re-sent while the provider still keeps the key's answer
    assert _pending_refund_timers(world)  # the timer goes on ...
    [alert] = _refund_alerts(world)  # ... and a person is asked, once
    assert "not sent again" in alert.summary
    assert "check" in alert.summary
    world.gateways["stripe"].unavailable = False  # back: the key may have expired there
    _run_janitor_until(world, timedelta(days=5))
    assert len(keys) == sent_in_window  # never sent after the window
    [timer_id] = _pending_refund_timers(world)  # still daily, without calls
    assert world.store.timers[timer_id].timer.payload.get("held") == 1
    assert len(_refund_alerts(world)) == 1
    [refund] = world.payment(view.payment_id).refunds
    assert refund.status is RefundStatus.PENDING
    assert refund.maybe_sent_at == sent_at  # the first moment it may have reached the provider
    assert len(world.gateways["stripe"].refunds) == 1
    assert world.wallet_balance(alice) == 600  # debited at the intent, never twice
    assert world.entries_of_kind("payment_refund") == 1


def test_a_refund_that_may_have_reached_the_provider_is_answered_within_the_window() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    keys = _spy_keys(world)
    _maybe_sent_then_unavailable(world, view.payment_id, 400, first="call")
    _run_janitor_until(world, REFUND_RESEND_WINDOW - timedelta(hours=4))
    assert world.payment(view.payment_id).refunds[0].status is RefundStatus.PENDING
    world.gateways["stripe"].unavailable = False
    _run_janitor_until(world, timedelta(hours=3, minutes=59))  # the last retry before the window ends
    [refund] = world.payment(view.payment_id).refunds
    assert refund.status is RefundStatus.SUCCEEDED
    assert set(keys) == {refund_key(view.payment_id, refund.id)}
    assert len(world.gateways["stripe"].refunds) == 1
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_refund") == 1
    assert _refund_alerts(world) == []
    assert _pending_refund_timers(world) == []


def test_a_client_retrying_a_refund_that_may_have_reached_the_provider_after_the_window_sends_nothing() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    keys = _spy_keys(world)
    command = RefundPaymentCommand(
        by=operator(),
        idempotency_key=IdempotencyKey("refund-once"),
        correlation_id=correlation_id(None),
        payment_id=view.payment_id,
        amount=eur(400),
        reason="customer asked",
    )
    world.gateways["stripe"].lose_answers = 1
    with pytest.raises(GatewayOutcomeUnknown):
        world.refund_payment(command)
    world.clock.advance(REFUND_RESEND_WINDOW)  # the janitor is not run
    result = world.refund_payment(command)  # the same key: the same refund
    assert result.status is RefundStatus.PENDING
    assert len(keys) == 1
    assert world.wallet_balance(alice) == 600
