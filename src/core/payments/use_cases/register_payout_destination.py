from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from core.payments.destinations import (
    DestinationActions,
    PayoutDestination,
    PayoutDestinationRegistered,
    masked,
    valid_destination,
)
from core.payments.ports import PayoutDestinationsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, UserId, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class RegisterPayoutDestinationCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    provider: str
    destination: str


@frozen(kw_only=True)
class PayoutDestinationView:
    provider: str
    destination: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, destination: PayoutDestination) -> PayoutDestinationView:
        return cls(
            provider=destination.provider,
            destination=destination.value,
            created_at=destination.created_at,
            updated_at=destination.updated_at,
        )


class RegisterPayoutDestination:
    """Register (or replace) the actor's own payout destination at a provider: where that
    provider pays them. The value must be in the provider's format (``destinations``);
    a PayPal payer id is stored as ``PAYPAL_ID:<id>``. Registering the same value again
    keeps its times and emits nothing. Idempotent per key; audited with the value masked.
    Raises Forbidden (only those who are paid register), InvalidInput (unknown provider,
    a value not in its format)."""

    def __init__(
        self, new_uow: Callable[[], PayoutDestinationsUnitOfWork], authorizer: Authorizer, clock: Clock
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: RegisterPayoutDestinationCommand) -> PayoutDestinationView:
        value = valid_destination(command.provider, command.destination)
        payee = UserId(command.by.id)
        target = f"payout_destination:{payee}:{command.provider}"

        def body(uow: PayoutDestinationsUnitOfWork) -> Change[PayoutDestinationView]:
            now = self._clock.now()
            before = uow.payout_destinations.get(payee, command.provider)
            if before is not None and before.value == value:
                return Change(result=PayoutDestinationView.of(before), target=target, after={"unchanged": True})
            stored = PayoutDestination(
                payee_id=payee,
                provider=command.provider,
                value=value,
                created_at=now if before is None else before.created_at,
                updated_at=now,
            )
            uow.payout_destinations.put(stored)
            event = PayoutDestinationRegistered(
                event_id=EventId(new_id("evt")),
                occurred_at=now,
                aggregate_id=target,
                payee_id=payee,
                provider=command.provider,
                replaced=before is not None,
            )
            return Change(
                result=PayoutDestinationView.of(stored),
                target=target,
                before={} if before is None else {"destination": masked(before.value)},
                after={"provider": command.provider, "destination": masked(value)},
                events=(event,),
            )

        return self._runner.run(
            command,
            action=DestinationActions.REGISTER,
            target=target,
            result_type=PayoutDestinationView,
            body=body,
        )
