from __future__ import annotations

from collections.abc import Callable

from core.identity.domain import UserNotFound, hash_token
from core.identity.ports import IdentityUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Unauthenticated
from core.shared.time import Clock

_REFUSED = "the bearer token is missing, unknown, expired or revoked"


class AuthenticateToken:
    """Turn a bearer secret into the Actor it speaks for. Reads only.

    Every failure raises the same Unauthenticated error, so the answer tells an attacker
    nothing about which tokens exist."""

    def __init__(self, new_uow: Callable[[], IdentityUnitOfWork], clock: Clock) -> None:
        self._new_uow, self._clock = new_uow, clock

    def __call__(self, secret: str | None) -> Actor:
        if not secret or len(secret) > 200:
            raise Unauthenticated(_REFUSED)
        with self._new_uow() as uow:
            token = uow.tokens.by_hash(hash_token(secret))
            if token is None or not token.usable_at(self._clock.now()):
                raise Unauthenticated(_REFUSED)
            try:
                return uow.users.get(token.user_id).as_actor()
            except UserNotFound:
                raise Unauthenticated(_REFUSED) from None
