"""Bearer authentication: ``Authorization: Bearer <token>`` becomes the request's Actor.

The token is handed to the AuthenticateToken use case (through a worker thread, as the
core is synchronous) and is never stored on the request or logged. Every failure is the
use case's single Unauthenticated error, answered 401 with ``WWW-Authenticate: Bearer``.

Successful authentications are cached for ``GIGCORE_AUTH_CACHE_SECONDS`` (default 5; 0
turns the cache off), so a client that sends many requests with one token pays for the
thread hop and the database read once per period, not per request. The trade-off: a token
revoked (or expiring, or whose user loses a persona) keeps working for at most that many
seconds in each server process that saw it succeed shortly before. The period starts when
the successful lookup *began*, so a revocation committed at time R is in force everywhere
by R + TTL. The cache:

- is keyed by a keyed BLAKE2b hash of the token (a random key per process), never by the
  token itself, and its keys do not match the SHA-256 hashes the database stores;
- holds at most ``max_entries`` tokens, evicting the least recently used;
- never stores a failure. Refusals stay exact at once (a new token is never refused from
  a cache), and requests with made-up tokens cannot push real ones out of it; they cost a
  lookup each, as before (rate-limit them in front of the API).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from core.shared.actor import Actor

Authenticate = Callable[[str | None], Actor]
Monotonic = Callable[[], float]

MAX_CACHED_TOKENS = 10_000


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


class AuthenticationCache:
    """Actors of recently authenticated tokens, for ``ttl_seconds`` after their lookup
    began. Thread-safe; ``monotonic`` is injectable for tests."""

    def __init__(
        self, ttl_seconds: float, *, max_entries: int = MAX_CACHED_TOKENS, monotonic: Monotonic = time.monotonic
    ) -> None:
        if ttl_seconds <= 0 or max_entries < 1:
            raise ValueError("an authentication cache needs a positive TTL and room for one entry")
        self._ttl = ttl_seconds
        self._max = max_entries
        self._now = monotonic
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[Actor, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __deepcopy__(self, _memo: dict[int, Any]) -> AuthenticationCache:
        # Litestar deep-copies routers (middleware arguments included) as it registers
        # them: the copy is this cache itself (one per app; its lock cannot be copied).
        return self

    def now(self) -> float:
        return self._now()

    def _digest(self, secret: str) -> bytes:
        return hashlib.blake2b(secret.encode(), key=self._key, digest_size=32).digest()

    def get(self, secret: str) -> Actor | None:
        """The cached Actor for ``secret``, or None (never seen, or its period is over)."""
        digest = self._digest(secret)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            actor, expires_at = entry
            if self._now() >= expires_at:
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return actor

    def put(self, secret: str, actor: Actor, *, looked_up_at: float) -> None:
        """Remember a successful authentication whose lookup began at ``looked_up_at``
        (a reading of ``now()``)."""
        digest = self._digest(secret)
        with self._lock:
            self._entries[digest] = (actor, looked_up_at + self._ttl)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class BearerAuthentication(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` to the authenticated Actor, or raises Unauthenticated.

    A token in ``cache`` is answered on the event loop, without a thread or the database;
    any other is authenticated in a worker thread (and cached if it succeeds)."""

    def __init__(self, app: ASGIApp, authenticate: Authenticate, cache: AuthenticationCache | None = None) -> None:
        super().__init__(app, scopes={ScopeType.HTTP})
        self._authenticate = authenticate
        self._cache = cache

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        secret = bearer_secret(connection.headers.get("authorization"))
        cache = self._cache
        if cache is None or secret is None:
            return AuthenticationResult(user=await sync_to_thread(self._authenticate, secret), auth=None)
        cached = cache.get(secret)
        if cached is not None:
            return AuthenticationResult(user=cached, auth=None)
        began = cache.now()
        actor = await sync_to_thread(self._authenticate, secret)  # raises Unauthenticated: nothing cached
        cache.put(secret, actor, looked_up_at=began)
        return AuthenticationResult(user=actor, auth=None)
