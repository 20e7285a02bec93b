"""Bearer authentication: ``Authorization: Bearer <token>`` becomes the request's Actor.

The token is handed to the AuthenticateToken use case (through a thread, as the core is
synchronous) and is never stored on the request or logged. Every failure is the use
case's single Unauthenticated error, answered 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from core.shared.actor import Actor

Authenticate = Callable[[str | None], Actor]


def bearer_secret(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None for any other
    shape (missing header, another scheme, an empty token)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


class BearerAuthentication(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` to the authenticated Actor, or raises Unauthenticated."""

    def __init__(self, app: ASGIApp, authenticate: Authenticate) -> None:
        super().__init__(app, scopes={ScopeType.HTTP})
        self._authenticate = authenticate

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        secret = bearer_secret(connection.headers.get("authorization"))
        actor = await sync_to_thread(self._authenticate, secret)
        return AuthenticationResult(user=actor, auth=None)
