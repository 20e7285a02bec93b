from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from core.identity.domain import Actions, ApiTokenRevoked
from core.identity.ports import IdentityUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, TokenId, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class RevokeApiTokenCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    token_id: TokenId


@frozen(kw_only=True)
class RevokeApiTokenResult:
    token_id: TokenId
    revoked_at: datetime


class RevokeApiToken:
    """Revoke a token at once; revoking a revoked token keeps the first revocation time.
    Admin or the system. Raises Forbidden, TokenNotFound. Emits ApiTokenRevoked."""

    def __init__(self, new_uow: Callable[[], IdentityUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: RevokeApiTokenCommand) -> RevokeApiTokenResult:
        def body(uow: IdentityUnitOfWork) -> Change[RevokeApiTokenResult]:
            token = uow.tokens.lock(command.token_id)
            now = self._clock.now()
            events: tuple[ApiTokenRevoked, ...] = ()
            if token.revoked_at is None:
                token.revoked_at = now
                uow.tokens.save(token)
                events = (
                    ApiTokenRevoked(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=token.user_id,
                        token_id=token.id,
                        user_id=token.user_id,
                    ),
                )
            return Change(
                result=RevokeApiTokenResult(token_id=token.id, revoked_at=token.revoked_at),
                target=f"token:{token.id}",
                after={"revoked_at": token.revoked_at.isoformat()},
                events=events,
            )

        return self._runner.run(
            command,
            action=Actions.REVOKE_TOKEN,
            target=f"token:{command.token_id}",
            result_type=RevokeApiTokenResult,
            body=body,
        )
