"""Payment providers' webhooks: ``POST /v1/webhooks/stripe|adyen|paypal``.

No bearer token (providers sign their deliveries instead) and no Idempotency-Key (the
inbox deduplicates by the provider's event id), so these routes sit in their own router,
outside the authentication middleware and the /v1 preconditions. The raw body is verified
by the provider's ``WebhookVerifier`` (signature of every item, timestamp window, secrets
read afresh so a rotation needs no restart); a delivery it cannot trust is a 400 problem
and changes nothing. A verified one is stored in the inbox by ``ReceiveProviderEvents``
(one short transaction) and acknowledged at once; the payment and ledger work happens in
the ``ProviderEventsConsumer`` from the outbox. The body size limit applies (413).
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, Response, Router, post
from litestar.concurrency import sync_to_thread

from core.payments.domain import WebhookRejected
from core.payments.use_cases.receive_provider_events import (
    WEBHOOKS,
    ReceiveProviderEventsCommand,
    ReceiveProviderEventsResult,
)
from entrypoints.container import Runtime
from entrypoints.http.errors import HttpProblem, problem_responses
from entrypoints.http.request_context import correlation_of

_log = structlog.get_logger("gigcore.webhooks")
_RESPONSES = problem_responses(400, 404, 413, 422, 503)


def webhooks_router(runtime: Runtime) -> Router:
    """The webhook routes over ``runtime`` (a provider that is not enabled answers 404)."""

    async def receive(provider: str, request: Request[Any, Any, Any]) -> ReceiveProviderEventsResult:
        verifier = runtime.use_cases.webhook_verifiers().get(provider)
        if verifier is None:
            raise HttpProblem(
                status=404,
                code="not_found",
                title="No such resource",
                detail=f"the {provider} payment provider is not enabled here",
            )
        body = await request.body()  # enforces the body size limit (413)
        headers = dict(request.headers.items())
        correlation = correlation_of(request.scope)

        def verify_and_store() -> ReceiveProviderEventsResult:
            try:
                events = verifier.verify(headers, body, runtime.platform.clock().now())
            except WebhookRejected as rejected:
                _log.warning("webhook rejected", provider=provider, reason=rejected.reason, size=len(body))
                raise HttpProblem(
                    status=400, code=rejected.code, title=rejected.title, detail=rejected.detail
                ) from None
            command = ReceiveProviderEventsCommand(
                by=WEBHOOKS, correlation_id=correlation, provider=provider, events=tuple(events)
            )
            result: ReceiveProviderEventsResult = runtime.use_cases.receive_provider_events()(command)
            _log.info("webhook received", provider=provider, received=result.received, duplicates=result.duplicates)
            return result

        return await sync_to_thread(verify_and_store)

    def acknowledgement(result: ReceiveProviderEventsResult) -> Response[dict[str, int]]:
        return Response(
            content={"received": result.received, "duplicates": result.duplicates},
            status_code=200,
            media_type="application/json",
        )

    @post("/stripe", status_code=200, operation_id="receiveStripeWebhook", responses=_RESPONSES)
    async def stripe(request: Request[Any, Any, Any]) -> Response[dict[str, int]]:
        """A Stripe event, verified by its `Stripe-Signature` header (HMAC-SHA256 with a
        5-minute tolerance; several secrets during a rotation). 200 with how many events
        were new and how many were duplicates."""
        return acknowledgement(await receive("stripe", request))

    @post("/adyen", status_code=200, operation_id="receiveAdyenWebhook", responses=_RESPONSES)
    async def adyen(request: Request[Any, Any, Any]) -> Response[str]:
        """An Adyen notification batch, every item's HMAC signature verified. Answers
        `[accepted]`, as Adyen requires."""
        await receive("adyen", request)
        return Response(content="[accepted]", status_code=200, media_type="text/plain")

    @post("/paypal", status_code=200, operation_id="receivePayPalWebhook", responses=_RESPONSES)
    async def paypal(request: Request[Any, Any, Any]) -> Response[dict[str, int]]:
        """A PayPal webhook event, verified with PayPal (the configured webhook id, the
        transmission headers and a transmission-time window)."""
        return acknowledgement(await receive("paypal", request))

    return Router("/v1/webhooks", route_handlers=[stripe, adyen, paypal], tags=["webhooks"], security=[])
