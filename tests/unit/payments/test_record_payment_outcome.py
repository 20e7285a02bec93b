"""Finance records by hand the final outcome of a payment still unknown or created (no
lookup or webhook will tell), applied as a janitor's lookup would be: credited once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.payments.domain import (
    AlertKind,
    PaymentAlertRaised,
    PaymentId,
    PaymentNotFound,
    PaymentNotUnresolved,
    PaymentStatus,
    ProviderEventKind,
    ProviderStatus,
    TimerKinds,
    resolve_delay,
)
from core.payments.use_cases.record_payment_outcome import (
    PaymentOutcome,
    RecordPaymentOutcome,
    RecordPaymentOutcomeCommand,
)
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.ids import IdempotencyKey, correlation_id
from core.shared.money import Money
from tests.unit.payments.world import PaymentsWorld, client, eur, key, operator, provider_event

FINANCE = operator(Persona.FINANCE)


def _recorder(world: PaymentsWorld) -> RecordPaymentOutcome:
    return RecordPaymentOutcome(world.uow, world.authorizer, world.clock, world.routing)


def _command(
    payment_id: PaymentId,
    status: PaymentOutcome,
    *,
    by: Actor = FINANCE,
    reason: str = "stripe dashboard, searched by metadata.payment_id",
    amount: Money | None = None,
    reference: str | None = None,
    k: IdempotencyKey | None = None,
) -> RecordPaymentOutcomeCommand:
    return RecordPaymentOutcomeCommand(
        by=by,
        idempotency_key=k or key(),
        correlation_id=correlation_id(None),
        payment_id=payment_id,
        status=status,
        reason=reason,
        amount=amount,
        provider_reference=reference,
    )


def _unknown(world: PaymentsWorld, alice: Actor, minor: int = 1_200) -> PaymentId:
    """A top-up whose charge answer was lost, and a provider that cannot be looked up."""
    world.gateways["stripe"].lose_answers = 1
    world.gateways["stripe"].lookups_unavailable = True
    view = world.top_up(alice, minor)
    assert view.status is PaymentStatus.UNKNOWN
    return view.payment_id


def _open_resolve_timers(world: PaymentsWorld) -> list[str]:
    return [
        row.timer.id
        for row in world.store.timers.values()
        if row.timer.kind == TimerKinds.RESOLVE and row.fired_at is None
    ]


def _alerts(world: PaymentsWorld, kind: AlertKind) -> list[PaymentAlertRaised]:
    return [
        e for e in world.events_named("payments.alert_raised") if isinstance(e, PaymentAlertRaised) and e.kind is kind
    ]


def test_an_unknown_payment_recorded_captured_is_credited_once_and_its_timer_becomes_obsolete() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id = _unknown(world, alice)
    calls = world.gateways["stripe"].calls
    command = _command(payment_id, PaymentOutcome.CAPTURED, amount=eur(1_200), reference="stripe_ch_0001")
    result = _recorder(world)(command)
    assert result.payment.status is PaymentStatus.CAPTURED
    assert result.payment.provider_reference == "stripe_ch_0001"
    assert world.wallet_balance(alice) == 1_200
    assert world.clearing_balance("stripe") == -1_200
    assert world.entries_of_kind("payment_capture") == 1
    assert _recorder(world)(command) == result  # the same key: the first result
    with pytest.raises(PaymentNotUnresolved) as refused:
        _recorder(world)(_command(payment_id, PaymentOutcome.FAILED))
    assert refused.value.code == "payment_not_unresolved"
    world.gateways["stripe"].lookups_unavailable = False
    world.clock.advance(resolve_delay(0))
    assert [r.outcome for r in world.run_janitor().resolved] == ["obsolete"]
    assert world.gateways["stripe"].calls == calls  # never looked up nor charged again
    assert _open_resolve_timers(world) == []
    # The provider's capture webhook, late: nothing more.
    world.deliver(
        provider_event(
            "stripe",
            "evt_late_capture",
            ProviderEventKind.PAYMENT_CAPTURED,
            "stripe_ch_0001",
            at=world.clock.now(),
            payment_id=payment_id,
            amount=eur(1_200),
        )
    )
    assert world.wallet_balance(alice) == 1_200
    assert world.entries_of_kind("payment_capture") == 1
    assert len(world.events_named("payments.payment_captured")) == 1


@pytest.mark.parametrize(("taken", "credited"), [(1_000, 1_000), (1_500, 1_200)])
def test_a_captured_amount_other_than_the_intent_follows_the_capture_rule(taken: int, credited: int) -> None:
    world, alice = PaymentsWorld(), client()
    payment_id = _unknown(world, alice)
    _recorder(world)(_command(payment_id, PaymentOutcome.CAPTURED, amount=eur(taken), reference="stripe_ch_0001"))
    assert world.wallet_balance(alice) == credited  # never more than the intent
    assert world.payment(payment_id).credited == eur(credited)
    [alert] = _alerts(world, AlertKind.CAPTURED_AMOUNT_MISMATCH)
    assert str(eur(taken)) in alert.summary


def test_a_webhook_that_waited_for_the_reference_is_applied_with_the_record() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id = _unknown(world, alice)
    # A capture event naming only the provider's reference, which we did not know: it waits.
    with pytest.raises(PaymentNotFound):
        world.deliver(
            provider_event(
                "stripe",
                "evt_waiting",
                ProviderEventKind.PAYMENT_CAPTURED,
                "stripe_ch_0001",
                at=world.clock.now(),
                amount=eur(1_100),
            )
        )
    assert world.store.payments_tables.events[("stripe", "evt_waiting")].applied_at is None
    assert world.wallet_balance(alice) == 0
    _recorder(world)(_command(payment_id, PaymentOutcome.CAPTURED, amount=eur(1_200), reference="stripe_ch_0001"))
    assert world.store.payments_tables.events[("stripe", "evt_waiting")].applied_at is not None
    assert world.wallet_balance(alice) == 1_100  # the lower of the two reports, before posting
    assert world.entries_of_kind("payment_capture") == 1


def test_an_unknown_payment_recorded_failed_credits_nothing() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id = _unknown(world, alice)
    result = _recorder(world)(_command(payment_id, PaymentOutcome.FAILED, reason="  no such charge at adyen  "))
    assert result.payment.status is PaymentStatus.FAILED
    assert result.payment.failure_reason == "no such charge at adyen"
    assert world.wallet_balance(alice) == 0
    assert world.entries_of_kind("payment_capture") == 0
    world.clock.advance(timedelta(days=2))
    assert [r.outcome for r in world.run_janitor().resolved] == ["obsolete"]
    [record] = [
        r.draft
        for chain in world.store.audit.values()
        for r in chain
        if r.draft.action == "payments.outcome.record_by_hand" and r.draft.outcome.value == "succeeded"
    ]
    assert (record.actor, record.after["reason"], record.after["status"]) == (
        FINANCE.ref,
        "no such charge at adyen",
        "failed",
    )


def test_a_capture_the_janitor_finds_while_finance_records_a_failure_is_still_credited() -> None:
    world, alice = PaymentsWorld(), client()
    gateway = world.gateways["stripe"]
    gateway.lose_answers = 1
    payment_id = world.top_up(alice, 1_200).payment_id
    lookup = gateway.lookup

    def racing_lookup(*args: object) -> object:  # finance records while the lookup is in flight
        _recorder(world)(_command(payment_id, PaymentOutcome.FAILED))
        return lookup(*args)  # type: ignore[arg-type]

    gateway.lookup = racing_lookup  # type: ignore[assignment,method-assign]
    world.clock.advance(resolve_delay(0))
    assert [r.outcome for r in world.run_janitor().resolved] == ["resolved"]
    assert world.payment(payment_id).status is PaymentStatus.CAPTURED  # the provider's fact outranks failed
    assert world.wallet_balance(alice) == 1_200
    assert world.entries_of_kind("payment_capture") == 1


def test_a_created_payment_the_provider_accepted_keeps_its_reference() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 800)
    assert view.status is PaymentStatus.CREATED
    reference = view.provider_reference
    assert reference is not None
    with pytest.raises(InvalidInput) as refused:
        _recorder(world)(_command(view.payment_id, PaymentOutcome.CAPTURED, amount=eur(800), reference="other"))
    assert refused.value.field == "provider_reference"
    result = _recorder(world)(_command(view.payment_id, PaymentOutcome.CAPTURED, amount=eur(800), reference=reference))
    assert result.payment.status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 800


def test_a_payment_the_provider_answered_cannot_be_recorded_by_hand() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 500)
    assert view.status is PaymentStatus.CAPTURED
    with pytest.raises(PaymentNotUnresolved):
        _recorder(world)(_command(view.payment_id, PaymentOutcome.FAILED))
    with pytest.raises(PaymentNotFound):
        _recorder(world)(_command(PaymentId("pay_nope"), PaymentOutcome.FAILED))
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED


def test_only_finance_records_a_payments_outcome() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id = _unknown(world, alice)
    for actor in (operator(Persona.SUPPORT), operator(Persona.ADMIN), alice, Actor.system("payments")):
        with pytest.raises(Forbidden):
            _recorder(world)(_command(payment_id, PaymentOutcome.FAILED, by=actor))
    assert world.payment(payment_id).status is PaymentStatus.UNKNOWN


def test_a_reference_that_names_another_payment_is_refused() -> None:
    world, alice = PaymentsWorld(), client()
    paid = world.top_up(alice, 500)  # answered: known as stripe_ch_0001
    payment_id = _unknown(world, alice)
    assert paid.provider_reference is not None
    with pytest.raises(InvalidInput):
        _recorder(world)(
            _command(
                payment_id, PaymentOutcome.CAPTURED, amount=Money.of(1_200, "EUR"), reference=paid.provider_reference
            )
        )
    assert world.payment(payment_id).status is PaymentStatus.UNKNOWN
    assert world.wallet_balance(alice) == 500


@pytest.mark.parametrize(
    ("field", "status", "change"),
    [
        ("reason", PaymentOutcome.FAILED, {"reason": " "}),
        ("reason", PaymentOutcome.FAILED, {"reason": "x" * 501}),
        ("amount", PaymentOutcome.FAILED, {"amount": Money.of(100, "EUR")}),
        ("provider_reference", PaymentOutcome.FAILED, {"reference": "stripe_ch_0001"}),
        ("amount", PaymentOutcome.CAPTURED, {"reference": "stripe_ch_0001"}),
        ("amount", PaymentOutcome.CAPTURED, {"reference": "stripe_ch_0001", "amount": Money.of(0, "EUR")}),
        ("amount", PaymentOutcome.CAPTURED, {"reference": "stripe_ch_0001", "amount": Money.of(1_200, "USD")}),
        ("provider_reference", PaymentOutcome.CAPTURED, {"amount": Money.of(1_200, "EUR")}),
        ("provider_reference", PaymentOutcome.CAPTURED, {"amount": Money.of(1_200, "EUR"), "reference": ""}),
        ("status", ProviderStatus.CAPTURED, {}),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(field: str, status: object, change: dict[str, object]) -> None:
    world, alice = PaymentsWorld(), client()
    payment_id = _unknown(world, alice)
    with pytest.raises(InvalidInput) as refused:
        _recorder(world)(_command(payment_id, status, **change))  # type: ignore[arg-type]
    assert refused.value.field == field
    assert world.payment(payment_id).status is PaymentStatus.UNKNOWN
    assert world.wallet_balance(alice) == 0
