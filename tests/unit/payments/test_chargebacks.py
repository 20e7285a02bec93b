"""A chargeback event raises one alert with its amount and moves no money."""

from __future__ import annotations

from core.payments.domain import AlertKind, PaymentAlertRaised, PaymentId, ProviderEventKind
from tests.unit.payments.world import PaymentsWorld, client, eur, provider_event


def _chargeback_alerts(world: PaymentsWorld) -> list[PaymentAlertRaised]:
    return [
        e
        for e in world.events_named("payments.alert_raised")
        if isinstance(e, PaymentAlertRaised) and e.kind is AlertKind.CHARGEBACK
    ]


def test_a_chargeback_is_alerted_once_with_its_amount_and_moves_no_money() -> None:
    world, alice = PaymentsWorld(), client()
    view = world.top_up(alice, 1_000)
    entries = len(world.store.entries)
    event = provider_event(
        "stripe", "evt_dp", ProviderEventKind.CHARGEBACK, view.provider_reference, at=world.clock.now(), amount=eur(600)
    )
    world.deliver(event)
    world.deliver(event)  # redelivered
    [alert] = _chargeback_alerts(world)
    assert alert.payment_id == view.payment_id
    assert "6.00 EUR" in alert.summary
    assert world.wallet_balance(alice) == 1_000
    assert len(world.store.entries) == entries
    assert world.payment(view.payment_id).status is view.status


def test_a_chargeback_on_a_payment_we_do_not_know_is_still_alerted() -> None:
    world = PaymentsWorld()
    world.deliver(
        provider_event(
            "adyen",
            "psp9:CHARGEBACK:true",
            ProviderEventKind.CHARGEBACK,
            "8815000000000009",
            at=world.clock.now(),
            payment_id=PaymentId("pay_unknown"),
            amount=eur(250),
        )
    )
    [alert] = _chargeback_alerts(world)
    assert alert.payment_id is None
    assert "8815000000000009" in alert.summary
