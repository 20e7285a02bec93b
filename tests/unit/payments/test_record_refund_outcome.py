"""Finance records by hand the final outcome of a refund still pending (the janitor holds it,
or its webhook never came), applied as the provider's answer would be."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.payments.domain import (
    REFUND_RESEND_WINDOW,
    PaymentId,
    PaymentNotFound,
    PaymentStatus,
    ProviderEventKind,
    RefundId,
    RefundNotPending,
    RefundStatus,
    RefundStillSent,
    TimerKinds,
)
from core.payments.use_cases.record_refund_outcome import (
    RecordRefundOutcome,
    RecordRefundOutcomeCommand,
    RecordRefundOutcomeResult,
    RefundOutcome,
)
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.gateways import GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.ids import IdempotencyKey, correlation_id
from tests.unit.payments.world import PaymentsWorld, client, eur, key, operator, provider_event

FINANCE = operator(Persona.FINANCE)


def _recorder(world: PaymentsWorld) -> RecordRefundOutcome:
    return RecordRefundOutcome(world.uow, world.authorizer, world.clock, world.routing)


def _command(
    payment_id: PaymentId,
    refund_id: RefundId,
    status: RefundOutcome,
    *,
    by: Actor = FINANCE,
    reason: str = "stripe dashboard: refund re_123 failed (expired card)",
    reference: str | None = None,
    k: IdempotencyKey | None = None,
) -> RecordRefundOutcomeCommand:
    return RecordRefundOutcomeCommand(
        by=by,
        idempotency_key=k or key(),
        correlation_id=correlation_id(None),
        payment_id=payment_id,
        refund_id=refund_id,
        status=status,
        reason=reason,
        provider_reference=reference,
    )


def _held_refund(world: PaymentsWorld, alice: Actor) -> tuple[PaymentId, RefundId]:
    """A captured 10.00 top-up with a 4.00 refund whose call may have reached the provider
    and got no answer for longer than the resend window: held by the janitor."""
    view = world.top_up(alice, 1_000)
    gateway = world.gateways["stripe"]
    gateway.lose_answers = 1
    with pytest.raises(GatewayOutcomeUnknown):
        world.refund(view.payment_id, 400)
    gateway.unavailable = True
    end = world.clock.now() + REFUND_RESEND_WINDOW + timedelta(days=2)
    while world.clock.now() < end:
        world.clock.advance(timedelta(hours=6))
        world.run_janitor()
    gateway.unavailable = False
    [refund] = world.payment(view.payment_id).refunds
    assert refund.status is RefundStatus.PENDING
    assert any(
        row.timer.payload.get("held") == 1
        for row in world.store.timers.values()
        if row.timer.kind == TimerKinds.REFUND_RETRY and row.fired_at is None
    )
    return view.payment_id, refund.id


def _pending_refund(world: PaymentsWorld, alice: Actor) -> tuple[PaymentId, RefundId]:
    """A captured 10.00 top-up with a 4.00 refund the provider was unavailable for."""
    view = world.top_up(alice, 1_000)
    world.gateways["stripe"].unavailable = True
    with pytest.raises(GatewayUnavailable):
        world.refund(view.payment_id, 400)
    world.gateways["stripe"].unavailable = False
    [refund] = world.payment(view.payment_id).refunds
    return view.payment_id, refund.id


def _refund_calls(world: PaymentsWorld) -> list[str]:
    calls: list[str] = []
    gateway = world.gateways["stripe"]
    real = gateway.refund

    def refund(request: object) -> object:
        calls.append(str(getattr(request, "idempotency_key", "")))
        return real(request)  # type: ignore[arg-type]

    gateway.refund = refund  # type: ignore[assignment,method-assign]
    return calls


def test_a_held_refund_recorded_failed_is_booked_back_once_and_its_timer_becomes_obsolete() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _held_refund(world, alice)
    assert world.wallet_balance(alice) == 600
    calls = _refund_calls(world)

    result = _recorder(world)(_command(payment_id, refund_id, RefundOutcome.FAILED))

    assert result.status is RefundStatus.FAILED
    assert result.payment.status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind("payment_refund_reversal") == 1
    # The janitor's held timer finds it final: obsolete, and nothing is sent.
    world.clock.advance(timedelta(days=1, minutes=1))
    outcomes = [(r.outcome, r.refund_id) for r in world.run_janitor().resolved if r.refund_id is not None]
    assert outcomes == [("obsolete", refund_id)]
    assert calls == []
    assert not [
        row for row in world.store.timers.values() if row.timer.kind == TimerKinds.REFUND_RETRY and row.fired_at is None
    ]
    # The provider's webhook, late, saying it succeeded after all: failed outranks it.
    world.deliver(
        provider_event(
            "stripe",
            "evt_late_refund",
            ProviderEventKind.PAYMENT_REFUNDED,
            world.payment(payment_id).provider_reference,
            at=world.clock.now(),
            payment_id=payment_id,
            amount=eur(400),
            refund_reference="stripe_re_0001",
            refund_id=refund_id,
        )
    )
    assert world.payment(payment_id).refund(refund_id).status is RefundStatus.FAILED
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind("payment_refund_reversal") == 1
    assert world.entries_of_kind("payment_refund") == 1


def test_a_pending_refund_recorded_succeeded_books_nothing_more_and_a_later_webhook_changes_nothing() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)
    result = _recorder(world)(_command(payment_id, refund_id, RefundOutcome.SUCCEEDED, reference=" re_dash_9 "))
    assert (result.status, result.payment.status) == (RefundStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)
    refund = world.payment(payment_id).refund(refund_id)
    assert refund.provider_reference == "re_dash_9"
    assert world.wallet_balance(alice) == 600
    assert world.clearing_balance("stripe") == -600
    assert world.entries_of_kind("payment_refund") == 1
    assert world.entries_of_kind("payment_refund_reversal") == 0
    world.deliver(
        provider_event(
            "stripe",
            "evt_refund_ok",
            ProviderEventKind.PAYMENT_REFUNDED,
            world.payment(payment_id).provider_reference,
            at=world.clock.now(),
            payment_id=payment_id,
            amount=eur(400),
            refund_reference="re_dash_9",
        )
    )
    payment = world.payment(payment_id)
    assert len(payment.refunds) == 1  # matched by its reference: the same refund
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_refund") == 1


def test_a_refund_the_janitor_still_sends_cannot_be_recorded_failed_so_it_is_never_paid_twice() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)  # never reached the provider: resent
    gateway = world.gateways["stripe"]
    with pytest.raises(RefundStillSent):  # a resend in flight could refund the card meanwhile
        _recorder(world)(_command(payment_id, refund_id, RefundOutcome.FAILED))
    world.clock.advance(timedelta(days=1))
    world.run_janitor()
    # The janitor's resend refunded the card once; the wallet did not get the 4.00 back.
    assert len(gateway.refunds) == 1
    assert world.payment(payment_id).refund(refund_id).status is RefundStatus.SUCCEEDED
    assert world.wallet_balance(alice) == 600


def test_a_refund_the_provider_knows_can_be_recorded_failed_while_the_janitor_would_resend() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)
    # Finance found it in the provider's dashboard, failed: its reference makes a resend
    # (same key) answer that same refund.
    _recorder(world)(_command(payment_id, refund_id, RefundOutcome.FAILED, reference="re_dashboard_1"))
    assert world.payment(payment_id).refund(refund_id).status is RefundStatus.FAILED
    assert world.wallet_balance(alice) == 1_000


def test_replaying_the_key_returns_the_first_result_and_a_second_record_is_refused() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)
    record = _recorder(world)
    first = _command(
        payment_id, refund_id, RefundOutcome.FAILED, reference="re_dashboard_1", k=IdempotencyKey("settle-once")
    )
    answer = record(first)
    assert record(first) == answer
    assert isinstance(answer, RecordRefundOutcomeResult)
    assert world.entries_of_kind("payment_refund_reversal") == 1
    with pytest.raises(RefundNotPending) as refused:
        record(_command(payment_id, refund_id, RefundOutcome.SUCCEEDED))
    assert (refused.value.code, refused.value.status) == ("refund_not_pending", "failed")
    assert world.wallet_balance(alice) == 1_000
    assert world.entries_of_kind("payment_refund_reversal") == 1


def test_a_refund_the_provider_answered_cannot_be_recorded_by_hand() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    done = world.refund(view.payment_id, 300)
    assert done.status is RefundStatus.SUCCEEDED
    with pytest.raises(RefundNotPending):
        _recorder(world)(_command(view.payment_id, done.refund_id, RefundOutcome.FAILED))
    assert world.wallet_balance(alice) == 700


def test_the_reason_is_audited() -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)
    _recorder(world)(
        _command(
            payment_id, refund_id, RefundOutcome.FAILED, reason="  seen failed in dashboard  ", reference="re_dash_2"
        )
    )
    [record] = [
        r.draft
        for chain in world.store.audit.values()
        for r in chain
        if r.draft.action == "payments.outcome.record_by_hand" and r.draft.outcome.value == "succeeded"
    ]
    assert record.actor == FINANCE.ref
    assert record.target == f"payment:{payment_id}"
    assert record.after["reason"] == "seen failed in dashboard"
    assert record.after["refund_status"] == "failed"


@pytest.mark.parametrize("persona", [Persona.SUPPORT, Persona.ADMIN])
def test_only_finance_records_an_outcome(persona: Persona) -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)
    for actor in (operator(persona), alice, Actor.system("payments")):
        with pytest.raises(Forbidden):
            _recorder(world)(_command(payment_id, refund_id, RefundOutcome.FAILED, by=actor))
    assert world.payment(payment_id).refund(refund_id).status is RefundStatus.PENDING
    assert world.wallet_balance(alice) == 600


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("reason", {"reason": ""}),
        ("reason", {"reason": "   "}),
        ("reason", {"reason": "x" * 501}),
        ("provider_reference", {"reference": ""}),
        ("provider_reference", {"reference": "r" * 256}),
        ("status", {"status": RefundStatus.PENDING}),
        ("refund_id", {"refund_id": RefundId("rfd_nope")}),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(field: str, change: dict[str, object]) -> None:
    world, alice = PaymentsWorld(), client()
    payment_id, refund_id = _pending_refund(world, alice)
    args: dict[str, object] = {"reason": "checked", "reference": None, "status": RefundOutcome.FAILED}
    args.update(change)
    chosen = RefundId(str(args.pop("refund_id", refund_id)))
    status = args.pop("status")
    with pytest.raises(InvalidInput) as refused:
        _recorder(world)(_command(payment_id, chosen, status, **args))  # type: ignore[arg-type]
    assert refused.value.field == field
    assert world.payment(payment_id).refund(refund_id).status is RefundStatus.PENDING
    assert world.wallet_balance(alice) == 600


def test_a_reference_naming_another_refund_is_refused() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    done = world.refund(view.payment_id, 100)
    other = world.payment(view.payment_id).refund(done.refund_id).provider_reference
    assert other is not None
    world.gateways["stripe"].unavailable = True
    with pytest.raises(GatewayUnavailable):
        world.refund(view.payment_id, 200)
    world.gateways["stripe"].unavailable = False
    pending = next(r for r in world.payment(view.payment_id).refunds if r.status is RefundStatus.PENDING)
    with pytest.raises(InvalidInput):
        _recorder(world)(_command(view.payment_id, pending.id, RefundOutcome.SUCCEEDED, reference=other))
    assert world.payment(view.payment_id).refund(pending.id).status is RefundStatus.PENDING


def test_an_unknown_payment_is_not_found() -> None:
    world = PaymentsWorld()
    with pytest.raises(PaymentNotFound):
        _recorder(world)(_command(PaymentId("pay_nope"), RefundId("rfd_nope"), RefundOutcome.FAILED))
