from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from attrs import evolve, frozen

from core.identity.domain import Actions, ApiToken, ApiTokenIssued, UserNotFound, hash_token, new_token_secret
from core.identity.ports import IdentityUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, TokenId, UserId, new_id
from core.shared.time import Clock

MAX_TTL = timedelta(days=366)


@frozen(kw_only=True)
class IssueApiTokenCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    user: str  # a user id or handle
    label: str = "api"
    ttl_days: int | None = 90


@frozen(kw_only=True)
class IssueApiTokenResult:
    token_id: TokenId
    user_id: UserId
    label: str
    expires_at: datetime | None
    # The bearer secret, present only in the first answer: it is stored nowhere, so a
    # replay of the same command answers without it.
    token: str | None


class IssueApiToken:
    """Issue a bearer token for a user; only its SHA-256 hash is stored.
    Admin or the system. Raises Forbidden, UserNotFound, InvalidInput. Emits ApiTokenIssued."""

    def __init__(self, new_uow: Callable[[], IdentityUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: IssueApiTokenCommand) -> IssueApiTokenResult:
        if command.ttl_days is not None and not 1 <= command.ttl_days <= MAX_TTL.days:
            raise InvalidInput("ttl_days", f"1 to {MAX_TTL.days} days, or none for a token that does not expire")
        if not 1 <= len(command.label) <= 80:
            raise InvalidInput("label", "1-80 characters")

        def body(uow: IdentityUnitOfWork) -> Change[IssueApiTokenResult]:
            user = uow.users.by_handle(command.user) if not command.user.startswith("usr_") else None
            if user is None:
                try:
                    user = uow.users.get(UserId(command.user))
                except UserNotFound:
                    raise UserNotFound(command.user) from None
            now = self._clock.now()
            secret = new_token_secret()
            expires = now + timedelta(days=command.ttl_days) if command.ttl_days is not None else None
            token = ApiToken(TokenId(new_id("tok")), user.id, command.label, hash_token(secret), now, expires)
            uow.tokens.add(token)
            result = IssueApiTokenResult(
                token_id=token.id, user_id=user.id, label=token.label, expires_at=expires, token=secret
            )
            return Change(
                result=result,
                replayed_as=evolve(result, token=None),
                target=f"token:{token.id}",
                after={"user_id": user.id, "label": token.label, "expires_at": str(expires)},
                events=(
                    ApiTokenIssued(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=user.id,
                        token_id=token.id,
                        user_id=user.id,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.ISSUE_TOKEN,
            target=f"user:{command.user}",
            result_type=IssueApiTokenResult,
            body=body,
        )
