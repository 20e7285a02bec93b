from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.payments.domain import (
    AlertKind,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    ProviderStatus,
    RefundStatus,
)
from core.shared.money import Money
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


# --- capture amounts and refunds, in any order ----------------------------------------

_INTENT = 1_000
EUR = eur(0).currency
_Report = tuple[str, ProviderEventKind, Money, str | None]


@st.composite
def capture_and_refund_histories(draw: st.DrawFn) -> tuple[list[_Report], list[int]]:
    """Capture reports (one or two amounts in the payment's currency, each possibly told
    several times, perhaps one in another currency) and refunds (some failing later), and
    a delivery order that shuffles and repeats. Two amounts at most: one correction is
    booked per payment, a third, lower still, is alerted (see test_capture_corrections)."""
    high = draw(st.integers(1, 1_500))
    low = draw(st.integers(1, high))
    amounts = draw(st.lists(st.sampled_from([low, high]), min_size=1, max_size=4))
    history: list[_Report] = [
        (f"evt_c{i}", ProviderEventKind.PAYMENT_CAPTURED, eur(minor), None) for i, minor in enumerate(amounts)
    ]
    if draw(st.booleans()):
        usd = Money.of(draw(st.integers(1, 1_500)), "USD")
        history.append(("evt_cusd", ProviderEventKind.PAYMENT_CAPTURED, usd, None))
    for i, minor in enumerate(draw(st.lists(st.integers(1, 800), max_size=3))):
        history.append((f"evt_r{i}", ProviderEventKind.PAYMENT_REFUNDED, eur(minor), f"re_{i}"))
        if draw(st.booleans()):
            history.append((f"evt_rf{i}", ProviderEventKind.REFUND_FAILED, eur(minor), f"re_{i}"))
    indices = list(range(len(history)))
    order = list(draw(st.permutations(indices))) + draw(st.lists(st.sampled_from(indices), max_size=4))
    return history, draw(st.permutations(order))


@settings(max_examples=150, deadline=None)
@given(capture_and_refund_histories())
def test_any_order_of_capture_and_refund_reports_books_what_was_captured_less_what_fits(
    case: tuple[list[_Report], list[int]],
) -> None:
    history, order = case
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, _INTENT)
    for i in order:
        event_id, kind, amount, refund_ref = history[i]
        world.deliver(
            provider_event(
                "stripe",
                event_id,
                kind,
                view.provider_reference,
                at=T0 + timedelta(seconds=i),
                amount=amount,
                refund_reference=refund_ref,
            )
        )
    payment = world.payment(view.payment_id)
    wallet, clearing = world.wallet_balance(alice), world.clearing_balance("stripe")
    assert wallet + clearing == 0  # balanced books
    assert world.entries_of_kind("payment_capture") <= 1
    assert world.entries_of_kind("payment_capture_correction") <= 1
    assert payment.status.is_captured
    reported = [a.minor for _, k, a, _ in history if k is ProviderEventKind.PAYMENT_CAPTURED and a.currency == EUR]
    # What the wallet keeps for the payment: the lowest capture reported, at most the
    # intent (unless taking the difference back found the wallet refunded already).
    if not payment.correction_unfunded:
        assert payment.credited == eur(min(*reported, _INTENT))
    booked = payment.refunds_booked
    assert wallet == payment.credited.minor - booked.minor
    assert booked.minor <= payment.credited.minor
    succeeded = [r for r in payment.refunds if r.status is RefundStatus.SUCCEEDED]
    for refund in payment.refunds:
        assert not refund.unfunded  # no other money in the wallet: the bound catches it first
        if refund.status is RefundStatus.FAILED and refund.entry_id is not None:
            assert refund.reversal_entry_id is not None
        if refund.status is RefundStatus.SUCCEEDED and refund.entry_id is None:
            assert refund.exceeds_credited and not payment.refund_fits(refund)
    if sum(r.amount.minor for r in succeeded) <= payment.credited.minor:
        assert booked == eur(sum(r.amount.minor for r in succeeded))
    raised = [a.kind for a in world.events_named("payments.alert_raised")]  # type: ignore[attr-defined]
    assert raised.count(AlertKind.REFUND_EXCEEDS_CREDITED) == sum(r.exceeds_credited for r in payment.refunds)
    assert raised.count(AlertKind.CAPTURE_CORRECTION_UNFUNDED) == int(payment.correction_unfunded)
