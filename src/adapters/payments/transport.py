"""Which transport failures leave a payment call's outcome known.

The port distinguishes *unavailable* (the request certainly took no effect: retry with the
same key, or another provider) from *outcome unknown* (it may have been processed: never fall
back to another provider). Only failures while connecting are certainly harmless: the
connection was refused, the name did not resolve, or connecting timed out; and a 429 (rate
limits are enforced before a request is processed). A read timeout, a dropped connection or
any 5xx after a POST went out may have charged the card -- a 503 too: it may come from a
component behind the one that took the charge, so "unavailable" is not proof of "not
processed". Falling back to another provider on it could charge twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import requests
import urllib3.exceptions

from core.shared.gateways import GatewayOutcomeUnknown, GatewayUnavailable

# Statuses a provider answers *instead of* processing: only rate limiting is certain.
UNAVAILABLE_STATUSES = frozenset({429})
# 409 Conflict: another request with the same idempotency key is still being processed
# (Stripe saves no answer for the loser). The outcome is that other request's: unknown,
# never a final decline (a refund "declined" so would be booked back while it is paid).
IN_FLIGHT_STATUS = 409
# Our key was used before with another request body (Stripe's idempotency_error, Adyen's
# error 704, PayPal's DUPLICATE_REQUEST_ID): the provider acted on the first body, or is
# acting on it, and does not tell us how -- an unknown outcome, never a decline (a "declined"
# payout would hand the money back to a wallet while the provider paid it).
KEY_REUSED_CODES = frozenset({"704", "DUPLICATE_REQUEST_ID"})

_BEFORE_SENDING: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    requests.exceptions.ConnectTimeout,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    urllib3.exceptions.ConnectTimeoutError,  # NewConnectionError and NameResolutionError too
    ConnectionRefusedError,
)
_AFTER_SENDING: tuple[type[BaseException], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    requests.exceptions.ReadTimeout,
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.ProtocolError,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and the errors wrapped in args / ``reason``
    (requests wraps urllib3's MaxRetryError, which wraps the real failure in ``reason``)."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen or len(seen) > 50:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        stack.extend(e for e in nested if isinstance(e, BaseException))


def failed_before_sending(error: BaseException) -> bool:
    """True only when the request certainly never reached the provider."""
    chain = list(_chain(error))
    if any(isinstance(e, _AFTER_SENDING) for e in chain):
        return False
    return any(isinstance(e, _BEFORE_SENDING) for e in chain)


def network_failure(provider: str, error: BaseException) -> GatewayUnavailable | GatewayOutcomeUnknown:
    if failed_before_sending(error):
        return GatewayUnavailable(provider)
    return GatewayOutcomeUnknown(provider)


def http_failure(
    provider: str, status: int, *, sent_safely: bool = False
) -> GatewayUnavailable | GatewayOutcomeUnknown | None:
    """The port error for a 409/429/5xx answer, or None for any other status.
    ``sent_safely``: the call has no side effect (a read), so a 409/5xx is just an outage."""
    if status in UNAVAILABLE_STATUSES:
        return GatewayUnavailable(provider)
    if status >= 500 or status == IN_FLIGHT_STATUS:
        return GatewayUnavailable(provider) if sent_safely else GatewayOutcomeUnknown(provider)
    return None
