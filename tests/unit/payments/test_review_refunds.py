"""Second review of refunds reported by providers: distinct provider refunds must never be
merged into one record (the payer's wallet would keep money the provider gave back)."""

from __future__ import annotations

from core.payments.domain import PaymentId, ProviderEvent, ProviderEventKind, RefundId, RefundStatus
from core.shared.money import Money
from tests.unit.payments.world import PaymentsWorld, client, eur


def _refunded(
    world: PaymentsWorld,
    event_id: str,
    *,
    reference: str | None,
    payment_id: PaymentId,
    amount: Money,
    refund_reference: str,
    refund_id: str | None,
) -> ProviderEvent:
    return ProviderEvent(
        provider="stripe",
        provider_event_id=event_id,
        kind=ProviderEventKind.PAYMENT_REFUNDED,
        provider_reference=reference,
        occurred_at=world.clock.now(),
        payment_id=payment_id,
        amount=amount,
        refund_reference=refund_reference,
        refund_id=RefundId(refund_id) if refund_id is not None else None,
    )


def test_two_provider_refunds_that_echo_the_same_foreign_reference_are_two_refunds() -> None:
    # Refunds made at the provider (its dashboard) carry whatever merchant reference the
    # provider echoes, e.g. the original payment's (Adyen's merchantReference): that is not
    # one of our refund ids, and two such refunds must not collapse into one record.
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    for n, (minor, reference) in enumerate(((300, "re_dash_1"), (200, "re_dash_2"))):
        world.deliver(
            _refunded(
                world,
                f"evt_dash_{n}",
                reference=view.provider_reference,
                payment_id=view.payment_id,
                amount=eur(minor),
                refund_reference=reference,
                refund_id=str(view.payment_id),
            )
        )
    payment = world.payment(view.payment_id)
    assert sorted((r.provider_reference, r.amount.minor, r.status) for r in payment.refunds) == [
        ("re_dash_1", 300, RefundStatus.SUCCEEDED),
        ("re_dash_2", 200, RefundStatus.SUCCEEDED),
    ]
    assert payment.refunded == eur(500)
    assert world.wallet_balance(alice) == 500
    assert world.clearing_balance("stripe") == -500


def test_the_same_provider_refund_seen_twice_is_still_one_refund() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    for n in range(2):  # refund.created then charge.refund.updated: two events, one refund
        world.deliver(
            _refunded(
                world,
                f"evt_same_{n}",
                reference=view.provider_reference,
                payment_id=view.payment_id,
                amount=eur(300),
                refund_reference="re_dash_1",
                refund_id=str(view.payment_id),
            )
        )
    payment = world.payment(view.payment_id)
    assert [(r.provider_reference, r.amount.minor) for r in payment.refunds] == [("re_dash_1", 300)]
    assert world.wallet_balance(alice) == 700


def test_our_own_refund_echoed_by_id_is_matched_not_duplicated() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    ours = world.refund(view.payment_id, 400)
    [refund] = world.payment(view.payment_id).refunds
    world.deliver(
        _refunded(
            world,
            "evt_ours",
            reference=view.provider_reference,
            payment_id=view.payment_id,
            amount=eur(400),
            refund_reference=refund.provider_reference or "",
            refund_id=str(ours.refund_id),
        )
    )
    payment = world.payment(view.payment_id)
    assert [r.id for r in payment.refunds] == [ours.refund_id]
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_refund") == 1
