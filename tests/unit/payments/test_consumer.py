from __future__ import annotations

from core.messaging.use_cases.handle_event import HandleEvent
from core.payments.domain import PaymentStatus, ProviderEventKind, ProviderStatus
from core.payments.use_cases.apply_provider_event import ProviderEventsConsumer
from core.payments.use_cases.receive_provider_events import WEBHOOKS, ReceiveProviderEventsCommand
from core.shared.ids import correlation_id
from tests.unit.payments.world import PaymentsWorld, client, eur, provider_event


def test_the_outbox_consumer_applies_received_events_once_however_often_delivered() -> None:
    world, alice = PaymentsWorld(), client()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 600)
    event = provider_event(
        "stripe",
        "evt_c1",
        ProviderEventKind.PAYMENT_CAPTURED,
        view.provider_reference,
        at=world.clock.now(),
        amount=eur(600),
    )
    for _ in range(3):  # the provider redelivers the webhook
        world.receive(
            ReceiveProviderEventsCommand(
                by=WEBHOOKS, correlation_id=correlation_id(None), provider="stripe", events=(event,)
            )
        )
    rows = [r for r in world.store.outbox if r.event.name == "payments.provider_event_received"]
    assert len(rows) == 1  # deduplicated by the provider's event id
    consumer = ProviderEventsConsumer(world.clock, world.routing)
    handle = HandleEvent(world.uow, [consumer], world.clock)
    for _ in range(2):  # the broker redelivers the message
        handle(consumer.name, rows[0].envelope())
    assert world.payment(view.payment_id).status is PaymentStatus.CAPTURED
    assert world.wallet_balance(alice) == 600
    assert world.entries_of_kind("payment_capture") == 1
