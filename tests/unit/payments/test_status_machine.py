from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.payments.domain import (
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    ProviderStatus,
    RefundStatus,
)
from tests.unit.payments.world import PaymentsWorld, client, eur, provider_event

T0 = datetime(2026, 3, 1, tzinfo=UTC)
AMOUNT = 10_000


def a_payment() -> Payment:
    return Payment.start(
        payer_id="usr_a",
        purpose=PaymentPurpose.WALLET_TOP_UP,
        amount=eur(AMOUNT),
        method=PaymentMethod.CARD,
        country="DE",
        at=T0,
    )


def test_a_late_authorisation_never_regresses_a_captured_payment() -> None:
    payment = a_payment()
    assert payment.observe(ProviderStatus.CAPTURED, at=T0)
    assert not payment.observe(ProviderStatus.AUTHORIZED, at=T0)
    assert not payment.observe(ProviderStatus.REQUIRES_ACTION, at=T0)
    assert not payment.observe(ProviderStatus.PROCESSING, at=T0)
    assert payment.status is PaymentStatus.CAPTURED


def test_a_capture_after_a_failure_wins_because_the_money_was_taken() -> None:
    payment = a_payment()
    payment.observe(ProviderStatus.FAILED, at=T0, reason="do_not_honor")
    payment.observe(ProviderStatus.CAPTURED, at=T0)
    assert payment.status is PaymentStatus.CAPTURED


def test_a_failure_after_a_capture_changes_nothing() -> None:
    payment = a_payment()
    payment.observe(ProviderStatus.CAPTURED, at=T0)
    assert not payment.observe(ProviderStatus.FAILED, at=T0)
    assert payment.status is PaymentStatus.CAPTURED


def test_processing_makes_an_unknown_payment_known_again() -> None:
    payment = a_payment()
    payment.route_to("stripe")
    payment.outcome_unknown(at=T0)
    assert payment.status is PaymentStatus.UNKNOWN
    payment.observe(ProviderStatus.PROCESSING, at=T0)
    assert payment.status is PaymentStatus.CREATED


def test_refunds_derive_partially_refunded_then_refunded() -> None:
    payment = a_payment()
    payment.observe(ProviderStatus.CAPTURED, at=T0)
    payment.refund_observed(
        provider_refund_reference="re_1", refund_id=None, amount=eur(4_000), status=RefundStatus.SUCCEEDED, at=T0
    )
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    payment.refund_observed(
        provider_refund_reference="re_2", refund_id=None, amount=eur(6_000), status=RefundStatus.SUCCEEDED, at=T0
    )
    assert payment.status is PaymentStatus.REFUNDED


def test_a_refund_seen_twice_is_one_refund() -> None:
    payment = a_payment()
    payment.observe(ProviderStatus.CAPTURED, at=T0)
    for _ in range(2):
        payment.refund_observed(
            provider_refund_reference="re_1", refund_id=None, amount=eur(1_000), status=RefundStatus.SUCCEEDED, at=T0
        )
    assert len(payment.refunds) == 1
    assert payment.refunded == eur(1_000)


# --- shuffled and duplicated event sequences ------------------------------------------

_PAYMENT_KINDS = (
    ProviderEventKind.PAYMENT_REQUIRES_ACTION,
    ProviderEventKind.PAYMENT_AUTHORIZED,
    ProviderEventKind.PAYMENT_FAILED,
    ProviderEventKind.PAYMENT_CAPTURED,
)


@st.composite
def event_histories(draw: st.DrawFn) -> tuple[list[tuple[str, ProviderEventKind, int, str | None]], list[int]]:
    """A provider's history of one payment: (event id, kind, refund minor, refund ref) in
    the order the provider produced it, and a delivery order that shuffles and repeats."""
    kinds = draw(st.lists(st.sampled_from(_PAYMENT_KINDS), unique=True, max_size=4))
    history: list[tuple[str, ProviderEventKind, int, str | None]] = [
        (f"evt_p{i}", kind, 0, None) for i, kind in enumerate(sorted(kinds, key=_PAYMENT_KINDS.index))
    ]
    refunds = draw(st.lists(st.integers(1, 3_000), max_size=3))
    for i, minor in enumerate(refunds):
        history.append((f"evt_r{i}", ProviderEventKind.PAYMENT_REFUNDED, minor, f"re_{i}"))
        if draw(st.booleans()):
            history.append((f"evt_rf{i}", ProviderEventKind.REFUND_FAILED, minor, f"re_{i}"))
    indices = list(range(len(history)))
    delivery = draw(st.permutations(indices))
    repeats = draw(st.lists(st.sampled_from(indices), max_size=6)) if indices else []
    order = list(delivery) + repeats
    positions = draw(st.lists(st.integers(0, len(order)), min_size=len(repeats), max_size=len(repeats)))
    for pos, idx in zip(positions, draw(st.permutations(order))[: len(repeats)], strict=False):
        order.insert(pos, idx)
    return history, order


def _replay(history: list[tuple[str, ProviderEventKind, int, str | None]], order: list[int]) -> tuple[object, ...]:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, AMOUNT)
    ref = view.provider_reference
    events: list[ProviderEvent] = []
    for n, (event_id, kind, minor, refund_ref) in enumerate(history):
        events.append(
            provider_event(
                "stripe",
                event_id,
                kind,
                ref,
                at=T0 + timedelta(seconds=n),
                amount=eur(minor) if minor else eur(AMOUNT),
                refund_reference=refund_ref,
            )
        )
    for i in order:
        world.deliver(events[i])
    payment = world.payment(view.payment_id)
    return (
        payment.status,
        payment.refunded,
        tuple(sorted((r.provider_reference or "", r.status.value) for r in payment.refunds)),
        world.wallet_balance(alice),
        world.clearing_balance("stripe"),
        world.entries_of_kind("payment_capture"),
    )


@settings(max_examples=60, deadline=None)
@given(event_histories())
def test_shuffled_and_duplicated_deliveries_end_as_the_in_order_history(
    case: tuple[list[tuple[str, ProviderEventKind, int, str | None]], list[int]],
) -> None:
    history, order = case
    in_order = _replay(history, list(range(len(history))))
    shuffled = _replay(history, order)
    assert shuffled == in_order
    status, refunded, _, wallet, clearing, captures = in_order
    assert captures <= 1
    assert wallet + clearing == 0  # balanced books
    if status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED):
        assert wallet == AMOUNT - refunded.minor  # type: ignore[attr-defined]
    else:
        assert wallet == 0
