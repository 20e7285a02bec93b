"""Behaviour every adapter of payments' storage ports has: ``Payments`` and
``ProviderEventInbox`` inside a unit of work (subclasses supply ``make_uow`` and
``wait_until_blocked``), and ``RoutingState`` (subclasses supply ``make_routing_state``:
each call a handle on the same shared state, as another process would hold)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.payments.domain import (
    BreakerPolicy,
    BreakerState,
    ClientAction,
    EscrowTarget,
    Payment,
    PaymentId,
    PaymentMethod,
    PaymentNotFound,
    PaymentPurpose,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    ProviderStatus,
    Refund,
    RefundId,
    RefundStatus,
    new_payment_id,
)
from core.payments.ports import RoutingState
from core.shared.errors import ConcurrentUpdate
from core.shared.ids import EntryId, new_id
from core.shared.money import MAX_MOVEMENT, Currency, Money

from ..builders import EUR, JPY, T0
from ..harness import MakeUow, WaitUntilBlocked
from ..threads import in_background, race

MakeRoutingState = Callable[[], RoutingState]


# --- builders -------------------------------------------------------------------------


def a_payment(
    *,
    provider: str | None = "stripe",
    created_at: datetime = T0,
    status: PaymentStatus = PaymentStatus.CREATED,
    minor: int = 10_000,
) -> Payment:
    payment = Payment.start(
        payer_id=new_id("usr"),
        purpose=PaymentPurpose.WALLET_TOP_UP,
        amount=Money(minor, EUR),
        method=PaymentMethod.CARD,
        country="DE",
        at=created_at,
    )
    if provider is not None:
        payment.route_to(provider)
    payment.status = status
    return payment


def a_full_payment() -> Payment:
    """Every field set, none at its default: an escrow funding, captured, refunded twice."""
    pid = new_payment_id()
    return Payment(
        id=pid,
        payer_id=new_id("usr"),
        purpose=PaymentPurpose.ESCROW_FUNDING,
        amount=Money(123_456, JPY),
        method=PaymentMethod.IDEAL,
        country="NL",
        status=PaymentStatus.PARTIALLY_REFUNDED,
        created_at=T0,
        escrow=EscrowTarget(contract_id=new_id("ctr"), milestone_id=new_id("mil")),
        provider="adyen",
        provider_reference=f"PSP-{new_id('ref')}-Ünïcode",
        capture_reference=f"CAP-{new_id('cap')}-Ünïcode",
        attempted=("stripe", "paypal"),
        client_action=ClientAction(
            kind="redirect", url="https://pay.example/3ds?x=1&y=ü", data={"client_secret": "pi_1_secret", "b": ""}
        ),
        failure_reason="an earlier decline: 05 do not honour",
        captured_at=T0 + timedelta(minutes=3, microseconds=7),
        captured=Money(120_000, JPY),
        capture_entry_id=EntryId(new_id("ent")),
        corrected=Money(110_000, JPY),
        correction_entry_id=EntryId(new_id("ent")),
        correction_unfunded=True,
        refunds=[
            Refund(
                id=RefundId(new_id("rfd")),
                amount=Money(1_000, JPY),
                status=RefundStatus.FAILED,
                requested_by=new_id("usr"),
                requested_at=T0 + timedelta(hours=1),
                provider_reference="rf_1",
                reason="customer asked",
                entry_id=EntryId(new_id("ent")),
                reversal_entry_id=EntryId(new_id("ent")),
                unfunded=True,
                exceeds_credited=True,
                maybe_sent_at=T0 + timedelta(hours=1, seconds=2, microseconds=3),
            ),
            Refund(
                id=RefundId(new_id("rfd")),
                amount=Money(2_000, JPY),
                status=RefundStatus.SUCCEEDED,
                requested_by="provider",
                requested_at=T0 + timedelta(hours=2),
                provider_reference="rf_2",
                reason="",
                entry_id=EntryId(new_id("ent")),
            ),
        ],
        unknown_since=T0 + timedelta(seconds=1),
        hold_deadline=T0 + timedelta(days=90),
        updated_at=T0 + timedelta(hours=2, microseconds=1),
        version=3,
    )


# Text as providers and people send it: any code point but surrogates and NUL (which
# neither database stores in text, and no provider sends).
_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
_moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
_currencies = st.sampled_from([EUR, JPY, Currency("USD")])
_ids = st.builds(new_id, st.sampled_from(["ent", "usr"]))


@st.composite
def payments(draw: st.DrawFn) -> Payment:
    """Any payment with any refunds (field by field: storage does not judge the domain's
    rules); a fresh id each time, so examples never meet in one store."""
    currency = draw(_currencies)
    minor = st.integers(1, MAX_MOVEMENT)
    optional = st.one_of(st.none(), _text)
    refunds = [
        Refund(
            id=RefundId(new_id("rfd")),
            amount=Money(draw(minor), currency),
            status=draw(st.sampled_from(RefundStatus)),
            requested_by=draw(st.sampled_from(["provider", new_id("usr")])),
            requested_at=draw(_moments),
            provider_reference=draw(optional),
            reason=draw(_text),
            entry_id=draw(st.one_of(st.none(), _ids.map(EntryId))),
            reversal_entry_id=draw(st.one_of(st.none(), _ids.map(EntryId))),
            unfunded=draw(st.booleans()),
            exceeds_credited=draw(st.booleans()),
            maybe_sent_at=draw(st.one_of(st.none(), _moments)),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    purpose = draw(st.sampled_from(PaymentPurpose))
    has_action = draw(st.booleans())
    return Payment(
        id=new_payment_id(),
        payer_id=new_id("usr"),
        purpose=purpose,
        amount=Money(draw(minor), currency),
        method=draw(st.sampled_from(PaymentMethod)),
        country=draw(st.sampled_from(["DE", "NL", "US", "JP"])),
        status=draw(st.sampled_from(PaymentStatus)),
        created_at=draw(_moments),
        escrow=EscrowTarget(contract_id=new_id("ctr"), milestone_id=new_id("mil"))
        if purpose is PaymentPurpose.ESCROW_FUNDING
        else None,
        provider=draw(st.one_of(st.none(), st.sampled_from(["stripe", "adyen", "paypal"]))),
        provider_reference=None if not draw(st.booleans()) else new_id("ref") + draw(_text),
        capture_reference=None if not draw(st.booleans()) else new_id("cap") + draw(_text),
        attempted=tuple(draw(st.lists(st.sampled_from(["stripe", "adyen", "paypal"]), max_size=3))),
        client_action=ClientAction(
            kind=draw(st.sampled_from(["redirect", "sdk"])),
            url=draw(optional),
            data=draw(st.dictionaries(_text, _text, max_size=3)),
        )
        if has_action
        else None,
        failure_reason=draw(_text),
        captured_at=draw(st.one_of(st.none(), _moments)),
        captured=draw(st.one_of(st.none(), st.builds(Money, st.integers(0, MAX_MOVEMENT), _currencies))),
        capture_entry_id=draw(st.one_of(st.none(), _ids.map(EntryId))),
        corrected=draw(st.one_of(st.none(), st.builds(Money, st.integers(0, MAX_MOVEMENT), st.just(currency)))),
        correction_entry_id=draw(st.one_of(st.none(), _ids.map(EntryId))),
        correction_unfunded=draw(st.booleans()),
        refunds=refunds,
        unknown_since=draw(st.one_of(st.none(), _moments)),
        hold_deadline=draw(st.one_of(st.none(), _moments)),
        updated_at=draw(st.one_of(st.none(), _moments)),
        version=draw(st.integers(0, 1_000)),
    )


def snapshot(payment: Payment) -> dict[str, Any]:
    """Every field, recursively; datetimes as ISO text (so a time read back in another
    zone differs) and enums by value. (Payments compare by identity.)"""

    def plain(_inst: object, _field: object, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        return value

    return attrs.asdict(payment, value_serializer=plain)


def add(make_uow: MakeUow, *payments: Payment) -> None:
    with make_uow() as uow:
        for payment in payments:
            uow.payments.add(payment)
        uow.commit()


def an_event(
    *,
    provider: str = "stripe",
    event_id: str | None = None,
    reference: str | None = "pi_1",
    kind: ProviderEventKind = ProviderEventKind.PAYMENT_CAPTURED,
    at: datetime = T0,
) -> ProviderEvent:
    return ProviderEvent(
        provider=provider,
        provider_event_id=event_id or new_id("evt"),
        kind=kind,
        provider_reference=reference,
        occurred_at=at,
    )


# --- Payments -------------------------------------------------------------------------


class PaymentsContract:
    def test_a_payment_with_refunds_reads_back_with_every_field(self, make_uow: MakeUow) -> None:
        payment = a_full_payment()
        expected = snapshot(payment)
        add(make_uow, payment)
        assert snapshot(payment) == expected  # add changes nothing, not even the version
        with make_uow() as uow:
            assert snapshot(uow.payments.get(payment.id)) == expected
            assert snapshot(uow.payments.lock(payment.id)) == expected

    # differing_executors: each adapter's subclass runs this one method (in one xdist worker
    # at times); the examples are independent, so what one adapter ran says nothing wrong.
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(payment=payments())  # fresh ids per example: the shared store is harmless (pitfall 14)
    def test_any_payment_reads_back_equal(self, make_uow: MakeUow, payment: Payment) -> None:
        expected = snapshot(payment)
        add(make_uow, payment)
        with make_uow() as uow:
            assert snapshot(uow.payments.get(payment.id)) == expected

    def test_a_payment_with_nothing_optional_reads_back_equal(self, make_uow: MakeUow) -> None:
        payment = a_payment(provider=None)
        add(make_uow, payment)
        with make_uow() as uow:
            read = uow.payments.get(payment.id)
        assert snapshot(read) == snapshot(payment)
        assert (read.escrow, read.client_action, read.attempted, read.refunds) == (None, None, (), [])

    def test_an_unknown_payment_is_not_found(self, make_uow: MakeUow) -> None:
        missing = PaymentId("pay_missing")
        with make_uow() as uow:
            with pytest.raises(PaymentNotFound):
                uow.payments.get(missing)
            with pytest.raises(PaymentNotFound):
                uow.payments.lock(missing)

    def test_adding_an_existing_id_is_a_bug(self, make_uow: MakeUow) -> None:
        payment = a_payment()
        add(make_uow, payment)
        with make_uow() as uow, pytest.raises(ValueError, match=payment.id):
            uow.payments.add(attrs.evolve(payment, payer_id="usr_other"))

    def test_leaving_without_commit_discards_the_payment_and_its_changes(self, make_uow: MakeUow) -> None:
        kept, dropped = a_payment(), a_payment()
        add(make_uow, kept)
        with make_uow() as uow:
            uow.payments.add(dropped)
            locked = uow.payments.lock(kept.id)
            locked.provider_reference = "pi_dropped"
            locked.observe(ProviderStatus.CAPTURED, at=T0)
            uow.payments.save(locked)
        with make_uow() as uow:
            with pytest.raises(PaymentNotFound):
                uow.payments.get(dropped.id)
            assert snapshot(uow.payments.get(kept.id)) == snapshot(kept)
            assert uow.payments.by_provider_reference("stripe", "pi_dropped") is None

    def test_saves_keep_refunds_in_order_bump_the_version_and_read_back_equal(self, make_uow: MakeUow) -> None:
        payment = a_payment()
        add(make_uow, payment)
        with make_uow() as uow:
            locked = uow.payments.lock(payment.id)
            locked.provider_reference = "pi_" + new_id("x")
            locked.observe(ProviderStatus.CAPTURED, at=T0 + timedelta(seconds=5))
            locked.capture_entry_id = EntryId(new_id("ent"))
            first = locked.request_refund(Money(3_000, EUR), by="usr_support", at=T0 + timedelta(hours=1))
            uow.payments.save(locked)
            assert locked.version == 1
            uow.commit()
        with make_uow() as uow:
            read = uow.payments.get(payment.id)
            assert snapshot(read) == snapshot(locked)
            again = uow.payments.lock(payment.id)
            again.refund(first.id).entry_id = EntryId(new_id("ent"))
            again.refund_observed(
                provider_refund_reference="re_1",
                refund_id=first.id,
                amount=None,
                status=RefundStatus.SUCCEEDED,
                at=T0 + timedelta(hours=2),
            )
            second = again.request_refund(Money(7_000, EUR), by="usr_support", at=T0 + timedelta(hours=3))
            uow.payments.save(again)
            assert again.version == 2
            uow.commit()
        with make_uow() as uow:
            read = uow.payments.get(payment.id)
        assert snapshot(read) == snapshot(again)
        assert [r.id for r in read.refunds] == [first.id, second.id]
        assert read.status is PaymentStatus.PARTIALLY_REFUNDED
        assert read.refund(first.id).provider_reference == "re_1"

    def test_a_stale_save_is_a_concurrent_update_and_changes_nothing(self, make_uow: MakeUow) -> None:
        payment = a_payment()
        add(make_uow, payment)
        with make_uow() as uow:
            stale = uow.payments.get(payment.id)
        with make_uow() as uow:
            fresh = uow.payments.lock(payment.id)
            fresh.observe(ProviderStatus.AUTHORIZED, at=T0)
            uow.payments.save(fresh)
            uow.commit()
        with make_uow() as uow:
            stale.observe(ProviderStatus.FAILED, at=T0, reason="declined")
            with pytest.raises(ConcurrentUpdate):
                uow.payments.save(stale)
        assert stale.version == 0  # a refused save does not bump
        with make_uow() as uow:
            read = uow.payments.get(payment.id)
        assert (read.status, read.version, read.failure_reason) == (PaymentStatus.AUTHORIZED, 1, "")

    def test_a_lock_waits_for_its_holder_then_reads_what_it_left(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked
    ) -> None:
        payment = a_payment()
        add(make_uow, payment)

        def refund_later() -> int:
            with make_uow() as uow:
                locked = uow.payments.lock(payment.id)
                locked.request_refund(Money(1_000, EUR), by="usr_support", at=T0 + timedelta(hours=1))
                uow.payments.save(locked)
                uow.commit()
                return len(locked.refunds)

        with make_uow() as uow:
            locked = uow.payments.lock(payment.id)
            join = in_background(refund_later)  # waits: for the row, the write lock or the store
            wait_until_blocked(uow)
            locked.observe(ProviderStatus.CAPTURED, at=T0)
            uow.payments.save(locked)
            uow.commit()
        assert join() == 1  # it saw the capture (a refund needs one) and saved over version 1
        with make_uow() as uow:
            read = uow.payments.get(payment.id)
        assert (read.status, read.version, len(read.refunds)) == (PaymentStatus.CAPTURED, 2, 1)

    def test_a_payment_is_found_by_its_providers_reference(self, make_uow: MakeUow) -> None:
        payment, other = a_payment(), a_payment()
        add(make_uow, payment, other)
        reference = "pi_" + new_id("x")
        with make_uow() as uow:
            assert uow.payments.by_provider_reference("stripe", reference) is None
            locked = uow.payments.lock(payment.id)
            locked.provider_reference = reference
            uow.payments.save(locked)
            uow.commit()
        with make_uow() as uow:
            found = uow.payments.by_provider_reference("stripe", reference)
            assert found is not None and snapshot(found) == snapshot(locked)
            assert uow.payments.by_provider_reference("adyen", reference) is None
            assert uow.payments.by_provider_reference("stripe", reference + "x") is None

    def test_a_payment_is_found_by_its_capture_reference_at_its_provider_only(self, make_uow: MakeUow) -> None:
        payment, other = a_payment(provider="paypal"), a_payment(provider="paypal")
        payment.provider_reference = other.provider_reference = None
        add(make_uow, payment, other)
        capture = "CAP" + new_id("x")
        with make_uow() as uow:
            assert uow.payments.by_capture_reference("paypal", capture) is None
            locked = uow.payments.lock(payment.id)
            locked.provider_reference = "ORD" + new_id("x")
            locked.capture_reference = capture
            locked.refunds.append(
                Refund(
                    id=RefundId(new_id("rfd")),
                    amount=Money(100, EUR),
                    status=RefundStatus.SUCCEEDED,
                    requested_by="provider",
                    requested_at=T0,
                    provider_reference="REF" + new_id("x"),
                )
            )
            uow.payments.save(locked)
            uow.commit()
        with make_uow() as uow:
            found = uow.payments.by_capture_reference("paypal", capture)
            assert found is not None and snapshot(found) == snapshot(locked)
            assert uow.payments.by_capture_reference("stripe", capture) is None
            assert uow.payments.by_capture_reference("paypal", capture + "x") is None
            assert uow.payments.by_provider_reference("paypal", capture) is None  # not the payment's reference

    def test_captured_between_takes_captures_and_refunds_in_the_period_by_id(self, make_uow: MakeUow) -> None:
        start, end = T0 + timedelta(days=1), T0 + timedelta(days=2)

        def captured(at: datetime, provider: str = "stripe") -> Payment:
            payment = a_payment(provider=provider)
            payment.provider_reference = new_id("ch")
            payment.observe(ProviderStatus.CAPTURED, at=at)
            return payment

        at_start, inside = captured(start), captured(end - timedelta(microseconds=1))
        before, at_end, elsewhere = captured(start - timedelta(microseconds=1)), captured(end), captured(start, "adyen")
        refunded_inside = captured(T0)
        refunded_inside.request_refund(Money(100, EUR), by="usr_support", at=start + timedelta(hours=1))
        refunded_after = captured(T0)
        refunded_after.request_refund(Money(100, EUR), by="usr_support", at=end)
        never = a_payment()
        add(make_uow, at_start, inside, before, at_end, elsewhere, refunded_inside, refunded_after, never)
        with make_uow() as uow:
            found = uow.payments.captured_between("stripe", start, end)
            assert uow.payments.captured_between("paypal", start, end) == []
        expected = sorted([at_start, inside, refunded_inside], key=lambda p: p.id)
        assert [snapshot(p) for p in found] == [snapshot(p) for p in expected]

    def test_in_status_lists_oldest_first_up_to_the_limit(self, make_uow: MakeUow) -> None:
        old_unknown = a_payment(status=PaymentStatus.UNKNOWN, created_at=T0)
        new_unknown = a_payment(status=PaymentStatus.UNKNOWN, created_at=T0 + timedelta(hours=2))
        created = a_payment(status=PaymentStatus.CREATED, created_at=T0 + timedelta(hours=1))
        captured = a_payment(status=PaymentStatus.CAPTURED, created_at=T0 - timedelta(days=1))
        captured.request_refund(Money(500, EUR), by="usr_support", at=T0)
        add(make_uow, new_unknown, captured, created, old_unknown)
        open_ones = (PaymentStatus.UNKNOWN, PaymentStatus.CREATED)
        with make_uow() as uow:
            assert [p.id for p in uow.payments.in_status(open_ones, limit=10)] == [
                old_unknown.id,
                created.id,
                new_unknown.id,
            ]
            assert [p.id for p in uow.payments.in_status([PaymentStatus.UNKNOWN], limit=1)] == [old_unknown.id]
            assert uow.payments.in_status(open_ones, limit=0) == []
            assert uow.payments.in_status([], limit=10) == []
            (read,) = uow.payments.in_status({PaymentStatus.CAPTURED}, limit=10)
        assert snapshot(read) == snapshot(captured)


# --- ProviderEventInbox ---------------------------------------------------------------


class ProviderEventInboxContract:
    def test_an_event_is_stored_once_and_the_first_copy_is_kept(self, make_uow: MakeUow) -> None:
        event = an_event()
        copy = attrs.evolve(event, kind=ProviderEventKind.PAYMENT_FAILED, reason="a different body")
        with make_uow() as uow:
            assert uow.provider_events.add(event, received_at=T0) is True
            assert uow.provider_events.add(copy, received_at=T0 + timedelta(seconds=1)) is False
            uow.commit()
        with make_uow() as uow:
            assert uow.provider_events.add(copy, received_at=T0 + timedelta(seconds=2)) is False
            # Same id at another provider: a different event.
            assert uow.provider_events.add(attrs.evolve(event, provider="adyen"), received_at=T0) is True
            uow.commit()
        with make_uow() as uow:
            stored = uow.provider_events.get("stripe", event.provider_event_id)
        assert stored is not None
        assert (stored.event, stored.received_at, stored.applied_at, stored.outcome) == (event, T0, None, None)

    def test_every_field_of_an_event_reads_back_equal(self, make_uow: MakeUow) -> None:
        event = ProviderEvent(
            provider="paypal",
            provider_event_id="WH-" + new_id("x") + "-Ünïcode",
            kind=ProviderEventKind.REFUND_FAILED,
            provider_reference="5O190127TN364715T",
            occurred_at=T0 - timedelta(microseconds=3),
            payment_id=new_payment_id(),
            amount=Money(1_234, JPY),
            refund_reference="1JU08902781691411",
            refund_id=RefundId(new_id("rfd")),
            reason="insufficient balance at the provider",
            capture_reference="8MC585209K746392H",
        )
        bare = an_event(reference=None, kind=ProviderEventKind.OTHER)
        with make_uow() as uow:
            uow.provider_events.add(event, received_at=T0)
            uow.provider_events.add(bare, received_at=T0)
            uow.commit()
        with make_uow() as uow:
            stored = uow.provider_events.get(event.provider, event.provider_event_id)
            stored_bare = uow.provider_events.get(bare.provider, bare.provider_event_id)
            assert uow.provider_events.get("paypal", "WH-missing") is None
        assert stored is not None and stored.event == event
        assert stored.event.occurred_at.isoformat() == event.occurred_at.isoformat()
        assert stored.received_at.isoformat() == T0.isoformat()
        assert stored_bare is not None and stored_bare.event == bare

    def test_leaving_without_commit_forgets_the_event(self, make_uow: MakeUow) -> None:
        event = an_event()
        with make_uow() as uow:
            assert uow.provider_events.add(event, received_at=T0)
        with make_uow() as uow:
            assert uow.provider_events.get(event.provider, event.provider_event_id) is None
            assert uow.provider_events.add(event, received_at=T0) is True

    def test_unapplied_events_of_a_reference_are_listed_oldest_first_until_applied(self, make_uow: MakeUow) -> None:
        reference = "pi_" + new_id("x")
        late = an_event(reference=reference, event_id="evt_a")
        early = an_event(reference=reference, event_id="evt_b")
        applied = an_event(reference=reference)
        other_reference = an_event(reference=reference + "x")
        other_provider = an_event(reference=reference, provider="adyen")
        with make_uow() as uow:
            uow.provider_events.add(late, received_at=T0 + timedelta(seconds=2))
            uow.provider_events.add(early, received_at=T0 + timedelta(seconds=1))
            uow.provider_events.add(applied, received_at=T0)
            uow.provider_events.add(other_reference, received_at=T0)
            uow.provider_events.add(other_provider, received_at=T0)
            uow.provider_events.mark_applied(
                "stripe", applied.provider_event_id, at=T0 + timedelta(minutes=1), outcome="applied"
            )
            uow.commit()
        with make_uow() as uow:
            assert [s.event for s in uow.provider_events.unapplied_for("stripe", reference)] == [early, late]
            uow.provider_events.mark_applied("stripe", "evt_b", at=T0 + timedelta(minutes=2), outcome="ignored")
            uow.commit()
        with make_uow() as uow:
            assert [s.event for s in uow.provider_events.unapplied_for("stripe", reference)] == [late]
            stored = uow.provider_events.get("stripe", "evt_b")
        assert stored is not None
        assert (stored.applied_at, stored.outcome) == (T0 + timedelta(minutes=2), "ignored")
        assert stored.received_at == T0 + timedelta(seconds=1)

    def test_unapplied_events_of_a_capture_are_listed_oldest_first_until_applied(self, make_uow: MakeUow) -> None:
        capture = "CAP-" + new_id("x")

        def refund(provider: str = "paypal", capture_reference: str = capture) -> ProviderEvent:
            # A dashboard refund: names the capture only, no payment reference.
            return attrs.evolve(
                an_event(provider=provider, reference=None, kind=ProviderEventKind.PAYMENT_REFUNDED),
                capture_reference=capture_reference,
                refund_reference="RF-" + new_id("r"),
                amount=Money(500, EUR),
            )

        late, early, applied = refund(), refund(), refund()
        other_capture, other_provider = refund(capture_reference=capture + "x"), refund(provider="stripe")
        by_reference = attrs.evolve(an_event(provider="paypal", reference=capture), capture_reference=None)
        with make_uow() as uow:
            uow.provider_events.add(late, received_at=T0 + timedelta(seconds=2))
            uow.provider_events.add(early, received_at=T0 + timedelta(seconds=1))
            for event in (applied, other_capture, other_provider, by_reference):
                uow.provider_events.add(event, received_at=T0)
            uow.provider_events.mark_applied("paypal", applied.provider_event_id, at=T0, outcome="applied")
            uow.commit()
        with make_uow() as uow:
            assert [s.event for s in uow.provider_events.unapplied_for_capture("paypal", capture)] == [early, late]
            uow.provider_events.mark_applied("paypal", early.provider_event_id, at=T0, outcome="applied")
            uow.commit()
        with make_uow() as uow:
            assert [s.event for s in uow.provider_events.unapplied_for_capture("paypal", capture)] == [late]
            assert uow.provider_events.unapplied_for_capture("paypal", "CAP-" + new_id("none")) == []

    def test_marking_an_unknown_event_applied_is_a_bug(self, make_uow: MakeUow) -> None:
        with make_uow() as uow, pytest.raises(LookupError):
            uow.provider_events.mark_applied("stripe", "evt_missing", at=T0, outcome="applied")

    def test_a_second_transaction_adding_the_same_event_waits_and_finds_it(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked
    ) -> None:
        event = an_event()

        def deliver_again() -> bool:
            with make_uow() as uow:
                new = uow.provider_events.add(event, received_at=T0 + timedelta(seconds=1))
                uow.commit()
                return bool(new)

        with make_uow() as uow:
            assert uow.provider_events.add(event, received_at=T0) is True
            join = in_background(deliver_again)  # waits: for the key, the write lock or the store
            wait_until_blocked(uow)
            uow.commit()
        assert join() is False
        with make_uow() as uow:
            stored = uow.provider_events.get(event.provider, event.provider_event_id)
        assert stored is not None and stored.received_at == T0

    def test_two_deliveries_racing_store_the_event_exactly_once(self, make_uow: MakeUow) -> None:
        events = [an_event() for _ in range(5)]

        def deliver(event: ProviderEvent) -> Callable[[], bool]:
            def run() -> bool:
                with make_uow() as uow:
                    new = uow.provider_events.add(event, received_at=T0)
                    uow.commit()
                    return bool(new)

            return run

        for event in events:
            outcomes = race(deliver(event), deliver(event))
            assert sorted(outcomes) == [False, True], outcomes


# --- RoutingState ---------------------------------------------------------------------


class RoutingStateContract:
    POLICY = BreakerPolicy(failure_threshold=2, cool_down=timedelta(seconds=30))

    def test_a_provider_never_seen_has_a_closed_circuit(self, make_routing_state: MakeRoutingState) -> None:
        state = make_routing_state()
        assert state.get("stripe") == BreakerState(provider="stripe")
        assert state.get("stripe").allows(T0, self.POLICY)

    def test_updates_are_seen_by_every_handle_and_kept_per_provider(self, make_routing_state: MakeRoutingState) -> None:
        one, other = make_routing_state(), make_routing_state()
        first = one.update("stripe", lambda s: s.failed(T0, self.POLICY))
        assert first == BreakerState(provider="stripe", consecutive_failures=1)
        opened = other.update("stripe", lambda s: s.failed(T0 + timedelta(microseconds=5), self.POLICY))
        assert opened == BreakerState(
            provider="stripe", consecutive_failures=2, opened_at=T0 + timedelta(microseconds=5)
        )
        read = one.get("stripe")
        assert read == opened and read.opened_at is not None
        assert read.opened_at.isoformat() == (T0 + timedelta(microseconds=5)).isoformat()
        assert not read.allows(T0 + timedelta(seconds=1), self.POLICY)
        assert one.get("adyen") == BreakerState(provider="adyen")

    def test_a_success_closes_the_circuit_again(self, make_routing_state: MakeRoutingState) -> None:
        state = make_routing_state()
        for _ in range(2):
            state.update("paypal", lambda s: s.failed(T0, self.POLICY))
        assert state.update("paypal", lambda s: s.succeeded()) == BreakerState(provider="paypal")
        assert make_routing_state().get("paypal") == BreakerState(provider="paypal")
        # A success on a closed circuit changes nothing.
        assert state.update("paypal", lambda s: s.succeeded()) == BreakerState(provider="paypal")

    def test_concurrent_updates_are_never_lost(self, make_routing_state: MakeRoutingState) -> None:
        policy = BreakerPolicy(failure_threshold=1_000)
        handles = [make_routing_state() for _ in range(6)]

        def fail(handle: RoutingState) -> Callable[[], BreakerState]:
            return lambda: handle.update("adyen", lambda s: s.failed(T0, policy))

        outcomes = race(*(fail(h) for h in handles))
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        assert sorted(o.consecutive_failures for o in outcomes) == [1, 2, 3, 4, 5, 6]
        assert make_routing_state().get("adyen").consecutive_failures == 6
