from __future__ import annotations

import hashlib
from collections.abc import Callable

from attrs import frozen

from core.payments.domain import Actions, ProviderEvent, ProviderEventReceived
from core.payments.ports import PaymentsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock

MAX_EVENTS = 1_000  # Adyen batches hold a few items; anything near this is not a provider

WEBHOOKS = Actor.system("webhooks")


@frozen(kw_only=True)
class ReceiveProviderEventsCommand:
    """Events a ``WebhookVerifier`` verified from one delivery. ``by`` is the system
    (``system:webhooks``); the idempotency key is derived from the events."""

    by: Actor
    correlation_id: CorrelationId
    provider: str
    events: tuple[ProviderEvent, ...]

    @property
    def idempotency_key(self) -> IdempotencyKey:
        ids = "\n".join(sorted(e.provider_event_id for e in self.events))
        digest = hashlib.sha256(f"{self.provider}\n{ids}".encode()).hexdigest()[:40]
        return IdempotencyKey(f"webhook:{self.provider}:{digest}")


@frozen(kw_only=True)
class ReceiveProviderEventsResult:
    received: int  # new events stored
    duplicates: int  # events stored before (deduplicated by provider event id)


class ReceiveProviderEvents:
    """Store a verified delivery's events in the inbox, deduplicated by (provider,
    provider event id), and emit ProviderEventReceived for each new one, in one
    transaction: fast, no payment or ledger work (the consumer ``ApplyProviderEvent`` does
    that from the outbox). A redelivery stores nothing and emits nothing. Raises
    Forbidden, InvalidInput (an event of another provider, too many events)."""

    def __init__(self, new_uow: Callable[[], PaymentsUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: ReceiveProviderEventsCommand) -> ReceiveProviderEventsResult:
        if len(command.events) > MAX_EVENTS:
            raise InvalidInput("events", f"at most {MAX_EVENTS} events per delivery")
        if any(e.provider != command.provider for e in command.events):
            raise InvalidInput("events", f"every event must come from {command.provider}")

        def body(uow: PaymentsUnitOfWork) -> Change[ReceiveProviderEventsResult]:
            now = self._clock.now()
            received: list[ProviderEventReceived] = []
            duplicates = 0
            seen: set[str] = set()
            for event in command.events:
                if event.provider_event_id in seen or not uow.provider_events.add(event, received_at=now):
                    duplicates += 1
                    continue
                seen.add(event.provider_event_id)
                received.append(
                    ProviderEventReceived(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        # Ordered per payment in the outbox when we know it.
                        aggregate_id=event.payment_id or event.provider_reference or event.provider_event_id,
                        provider=event.provider,
                        provider_event_id=event.provider_event_id,
                    )
                )
            result = ReceiveProviderEventsResult(received=len(received), duplicates=duplicates)
            return Change(
                result=result,
                target=f"webhook:{command.provider}",
                after={
                    "received": result.received,
                    "duplicates": duplicates,
                    "event_ids": [e.provider_event_id for e in received],
                },
                events=tuple(received),
            )

        return self._runner.run(
            command,
            action=Actions.RECEIVE_EVENTS,
            target=f"webhook:{command.provider}",
            result_type=ReceiveProviderEventsResult,
            body=body,
        )
