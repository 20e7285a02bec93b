"""The wallet never keeps more than the provider captured, and refunds never take more
than was credited: a lower capture reported after the capture was posted is corrected by
one entry (or alerted when the wallet no longer holds it), and a refund beyond what was
credited is alerted instead of booked."""

from __future__ import annotations

import pytest

from core.payments.domain import (
    AlertKind,
    PaymentAlertRaised,
    PaymentId,
    PaymentStatus,
    ProviderEventKind,
    ProviderStatus,
    RefundExceedsCaptured,
)
from core.shared.actor import Actor
from core.shared.money import Money
from tests.unit.payments.world import PaymentsWorld, client, eur, provider_event

CORRECTION = "payment_capture_correction"


def _alerts(world: PaymentsWorld, kind: AlertKind) -> list[PaymentAlertRaised]:
    return [a for a in world.events_named("payments.alert_raised") if a.kind is kind]  # type: ignore[attr-defined]


def _captured(world: PaymentsWorld, reference: str | None, amount: Money, event_id: str) -> None:
    world.deliver(
        provider_event(
            "stripe", event_id, ProviderEventKind.PAYMENT_CAPTURED, reference, at=world.clock.now(), amount=amount
        )
    )


def _refunded(world: PaymentsWorld, reference: str | None, minor: int, refund_reference: str, event_id: str) -> None:
    world.deliver(
        provider_event(
            "stripe",
            event_id,
            ProviderEventKind.PAYMENT_REFUNDED,
            reference,
            at=world.clock.now(),
            amount=eur(minor),
            refund_reference=refund_reference,
        )
    )


def _pending_top_up(world: PaymentsWorld, who: Actor, minor: int) -> tuple[PaymentId, str | None]:
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(who, minor)
    return view.payment_id, view.provider_reference


def _spend(world: PaymentsWorld, who: Actor, minor: int) -> None:
    with world.uow() as uow:
        now = world.clock.now()
        wallet = uow.book.account(owner_id=who.id, kind="wallet", currency=eur(0).currency, at=now)
        other = uow.book.account(owner_id="usr_bob", kind="wallet", currency=eur(0).currency, at=now)
        legs = [(wallet, eur(-minor)), (other, eur(minor))]
        uow.book.post(kind="transfer", memo="spent", initiated_by=who.ref, legs=legs, at=now)
        uow.commit()


# --- 1. a lower capture reported after the capture was posted --------------------------


def test_a_lower_capture_reported_after_posting_is_corrected_by_one_entry() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    assert world.wallet_balance(alice) == 1_000
    _captured(world, ref, eur(900), "evt_cap_2")
    payment = world.payment(payment_id)
    assert world.wallet_balance(alice) == 900
    assert world.clearing_balance("stripe") == -900
    assert world.entries_of_kind(CORRECTION) == 1
    assert payment.correction_entry_id is not None
    assert payment.corrected == eur(900)
    assert payment.credited == eur(900)
    assert payment.refundable == eur(900)


def test_the_correction_is_posted_once_however_often_the_lower_capture_is_reported() -> None:
    world, alice = PaymentsWorld(), client()
    _, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    for n in range(3):
        _captured(world, ref, eur(900), f"evt_low_{n}")
    _captured(world, ref, eur(1_000), "evt_cap_again")
    assert world.wallet_balance(alice) == 900
    assert world.entries_of_kind(CORRECTION) == 1
    assert world.entries_of_kind("payment_capture") == 1


def test_a_report_lower_still_after_the_correction_is_alerted_not_booked() -> None:
    world, alice = PaymentsWorld(), client()
    _, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    _captured(world, ref, eur(900), "evt_cap_2")
    _captured(world, ref, eur(800), "evt_cap_3")
    assert world.wallet_balance(alice) == 900
    assert world.entries_of_kind(CORRECTION) == 1
    assert _alerts(world, AlertKind.CAPTURED_AMOUNT_MISMATCH)[-1].summary.endswith("not booked")


def test_a_higher_capture_reported_after_posting_never_credits_more() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(900), "evt_cap_1")
    _captured(world, ref, eur(1_000), "evt_cap_2")
    assert world.wallet_balance(alice) == 900
    assert world.entries_of_kind(CORRECTION) == 0
    assert world.payment(payment_id).credited == eur(900)
    assert len(_alerts(world, AlertKind.CAPTURED_AMOUNT_MISMATCH)) == 1  # the first, short report


def test_a_lower_capture_in_another_currency_after_posting_books_nothing() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    _captured(world, ref, Money.of(10, "USD"), "evt_cap_usd")
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind(CORRECTION) == 0
    assert world.payment(payment_id).corrected is None


def test_a_correction_the_wallet_no_longer_holds_is_marked_unfunded_and_alerted_once() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    _spend(world, alice, 950)
    _captured(world, ref, eur(900), "evt_cap_2")
    _captured(world, ref, eur(900), "evt_cap_3")
    payment = world.payment(payment_id)
    assert payment.correction_unfunded
    assert payment.correction_entry_id is None
    assert payment.credited == eur(1_000)  # the books still say what was credited
    assert world.wallet_balance(alice) == 50
    assert world.entries_of_kind(CORRECTION) == 0
    [alert] = _alerts(world, AlertKind.CAPTURE_CORRECTION_UNFUNDED)
    assert "100" in alert.summary or "1.00" in alert.summary


def test_a_requested_refund_after_a_correction_is_bounded_by_the_corrected_credit() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    _captured(world, ref, eur(700), "evt_cap_2")
    with pytest.raises(RefundExceedsCaptured):
        world.refund(payment_id, 701)
    world.refund(payment_id, 700)
    assert world.payment(payment_id).status is PaymentStatus.REFUNDED
    assert world.wallet_balance(alice) == 0
    assert world.clearing_balance("stripe") == 0


def test_a_correction_down_to_what_was_refunded_makes_the_payment_refunded() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap_1")
    world.refund(payment_id, 600)
    _captured(world, ref, eur(600), "evt_cap_2")
    payment = world.payment(payment_id)
    assert payment.status is PaymentStatus.REFUNDED
    assert world.wallet_balance(alice) == 0
    assert world.clearing_balance("stripe") == 0


# --- 2. refunds bounded by what was credited -------------------------------------------


def test_a_refund_of_a_capture_in_another_currency_is_alerted_not_booked() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, Money.of(1_000, "USD"), "evt_cap_usd")
    _refunded(world, ref, 300, "re_1", "evt_re_1")
    _refunded(world, ref, 300, "re_1", "evt_re_1_again")  # the same refund, told twice
    payment = world.payment(payment_id)
    assert world.wallet_balance(alice) == 0
    assert world.clearing_balance("stripe") == 0
    assert world.entries_of_kind("payment_refund") == 0
    [refund] = payment.refunds
    assert refund.entry_id is None and refund.exceeds_credited
    [alert] = _alerts(world, AlertKind.REFUND_EXCEEDS_CREDITED)
    assert refund.id in alert.summary


def test_refunds_of_a_short_capture_beyond_what_was_credited_are_not_booked() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(900), "evt_cap")
    _refunded(world, ref, 600, "re_1", "evt_re_1")
    _refunded(world, ref, 400, "re_2", "evt_re_2")
    payment = world.payment(payment_id)
    assert world.wallet_balance(alice) == 300
    assert world.clearing_balance("stripe") == -300
    assert world.entries_of_kind("payment_refund") == 1
    assert [r.exceeds_credited for r in payment.refunds] == [False, True]
    assert len(_alerts(world, AlertKind.REFUND_EXCEEDS_CREDITED)) == 1


def test_a_refund_seen_before_a_short_capture_is_bounded_when_the_capture_arrives() -> None:
    world, alice = PaymentsWorld(), client()
    _, ref = _pending_top_up(world, alice, 1_000)
    _refunded(world, ref, 1_000, "re_1", "evt_re_1")
    _captured(world, ref, eur(500), "evt_cap")
    assert world.wallet_balance(alice) == 500
    assert world.entries_of_kind("payment_refund") == 0
    assert len(_alerts(world, AlertKind.REFUND_EXCEEDS_CREDITED)) == 1


def test_a_refund_that_did_not_fit_is_booked_once_another_refund_fails() -> None:
    world, alice = PaymentsWorld(), client()
    _, ref = _pending_top_up(world, alice, 1_000)
    _captured(world, ref, eur(1_000), "evt_cap")
    _refunded(world, ref, 600, "re_1", "evt_re_1")
    _refunded(world, ref, 500, "re_2", "evt_re_2")
    assert world.wallet_balance(alice) == 400
    world.deliver(
        provider_event(
            "stripe",
            "evt_rf_1",
            ProviderEventKind.REFUND_FAILED,
            ref,
            at=world.clock.now(),
            amount=eur(600),
            refund_reference="re_1",
        )
    )
    assert world.wallet_balance(alice) == 500  # 600 returned, then 500 booked
    assert world.entries_of_kind("payment_refund") == 2
    assert len(_alerts(world, AlertKind.REFUND_EXCEEDS_CREDITED)) == 1
