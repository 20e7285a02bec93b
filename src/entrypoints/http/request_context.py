"""Per-request context: the correlation id and the access log.

It wraps the whole application rather than being a Litestar middleware, because Litestar
builds middleware stacks per route: a request for an unknown route or with a wrong method
(404/405 raised by the router) would otherwise get no X-Request-ID and no log line.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any, cast

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bound_contextvars

from core.shared.actor import Actor
from core.shared.ids import CorrelationId, correlation_id

CORRELATION_STATE_KEY = "gigcore.correlation_id"
REQUEST_ID_HEADER = b"x-request-id"

_access_log = structlog.get_logger("gigcore.http.access")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            try:
                return bytes(value).decode("latin-1")
            except (TypeError, ValueError):
                return None
    return None


def correlation_of(scope: Scope) -> CorrelationId:
    """The request's correlation id; made (and kept) here if the wrapper did not run."""
    state = cast("MutableMapping[str, Any]", scope).setdefault("state", {})
    found = state.get(CORRELATION_STATE_KEY)
    if found is None:
        found = state[CORRELATION_STATE_KEY] = correlation_id(_header(scope, REQUEST_ID_HEADER))
    return CorrelationId(found)


def _actor_ref(scope: Scope) -> str | None:
    user = scope.get("user")
    return user.ref if isinstance(user, Actor) else None


async def run_in_request_context(scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
    """Serve one HTTP request: take the caller's X-Request-ID if it is safe to log (else
    make one), bind it to structlog's context, echo it on the response, and write one
    access-log line when the request ends. The line never holds headers or the query
    string, so neither a token nor anything a client put in a URL reaches the log."""
    started = time.perf_counter()
    correlation = correlation_of(scope)
    status = 500  # what the client sees if the app fails before it starts a response
    echoed = (REQUEST_ID_HEADER, correlation.encode("ascii"))

    async def send_with_request_id(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            message = {**message, "headers": [*message.get("headers", ()), echoed]}
        await send(message)

    with bound_contextvars(correlation_id=correlation):
        try:
            await app(scope, receive, send_with_request_id)
        finally:
            _access_log.info(
                "http_request",
                method=scope.get("method", ""),
                path=scope.get("path", ""),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                correlation_id=correlation,
                actor=_actor_ref(scope),
            )
