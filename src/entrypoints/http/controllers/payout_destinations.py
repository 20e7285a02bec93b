"""Payout destinations: where each payment provider pays you (issue 5). A provider can
only pay a payee who registered a destination for it; escrow's payouts through a
provider are declined until then.

The bodies are declared here, next to the only routes that use them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from attrs import frozen
from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, PathParameter, QueryParameter

from core.payments.use_cases.get_payout_destinations import GetPayoutDestinations, GetPayoutDestinationsQuery
from core.payments.use_cases.register_payout_destination import (
    PayoutDestinationView,
    RegisterPayoutDestination,
    RegisterPayoutDestinationCommand,
)
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.container import Runtime
from entrypoints.http.errors import problem_responses

_WRITE = problem_responses(400, 401, 403, 409, 413, 422, 503)
_READ = problem_responses(400, 401, 403, 422, 503)

USE_CASES = ("register_payout_destination", "get_payout_destinations")


def payout_destinations_dependencies(runtime: Runtime) -> dict[str, Provide]:
    """One provider per use case, resolved from ``runtime`` at call time."""

    def provide(name: str) -> Callable[[], Any]:
        def provider() -> Any:
            return getattr(runtime.use_cases, name)()

        provider.__name__ = f"provide_{name}"
        return provider

    return {name: Provide(provide(name), sync_to_thread=False) for name in USE_CASES}


@frozen(kw_only=True)
class PayoutDestinationRequest:
    # Stripe: a connected account acct_…; Adyen: a transfer instrument or balance account
    # id; PayPal: the receiver's email, or their 13-character PayPal payer id.
    destination: str


@frozen(kw_only=True)
class PayoutDestinationResponse:
    provider: str
    destination: str  # as stored: a PayPal payer id reads PAYPAL_ID:<id>
    created_at: datetime
    updated_at: datetime


@frozen(kw_only=True)
class PayoutDestinationListResponse:
    destinations: tuple[PayoutDestinationResponse, ...]  # ordered by provider


def destination_response(view: PayoutDestinationView) -> PayoutDestinationResponse:
    return PayoutDestinationResponse(
        provider=view.provider, destination=view.destination, created_at=view.created_at, updated_at=view.updated_at
    )


class PayoutDestinationsController(Controller):
    path = "/payout-destinations"
    tags = ["payments"]

    @put(
        "/{provider:str}",
        status_code=200,
        sync_to_thread=True,
        operation_id="registerPayoutDestination",
        responses=_WRITE,
    )
    def register(
        self,
        *,
        provider: Annotated[str, PathParameter(description="stripe, adyen or paypal")],
        data: JSONBody[PayoutDestinationRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        register_payout_destination: NamedDependency[RegisterPayoutDestination],
    ) -> PayoutDestinationResponse:
        """Register (or replace) where `provider` (stripe, adyen, paypal) pays you. The
        value must be in that provider's format (422 otherwise). Only those who are paid
        (provider, agency, mentor) register, each their own."""
        command = RegisterPayoutDestinationCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            provider=provider,
            destination=data.destination,
        )
        return destination_response(register_payout_destination(command))

    @get("/", sync_to_thread=True, operation_id="listPayoutDestinations", responses=_READ)
    def list_destinations(
        self,
        *,
        actor: NamedDependency[Actor],
        get_payout_destinations: NamedDependency[GetPayoutDestinations],
        user_id: Annotated[
            str | None, QueryParameter(description="Support, finance and admin only: this member's destinations")
        ] = None,
    ) -> PayoutDestinationListResponse:
        """Your payout destinations, one per provider."""
        found = get_payout_destinations(GetPayoutDestinationsQuery(by=actor, payee_id=user_id))
        return PayoutDestinationListResponse(destinations=tuple(destination_response(v) for v in found))
