from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from core.identity.domain import Actions, HandleTaken, User, UserCreated
from core.identity.ports import IdentityUnitOfWork
from core.shared.actor import Actor, Persona
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, UserId, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class CreateUserCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    handle: str
    display_name: str
    personas: frozenset[Persona]


@frozen(kw_only=True)
class UserView:
    user_id: UserId
    handle: str
    display_name: str
    personas: tuple[str, ...]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            user_id=user.id,
            handle=user.handle,
            display_name=user.display_name,
            personas=tuple(sorted(p.value for p in user.personas)),
            created_at=user.created_at,
        )


class CreateUser:
    """Register a user with personas. Admin or the system (the CLI bootstrap).
    Raises Forbidden, InvalidInput, HandleTaken. Emits UserCreated."""

    def __init__(self, new_uow: Callable[[], IdentityUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: CreateUserCommand) -> UserView:
        def body(uow: IdentityUnitOfWork) -> Change[UserView]:
            now = self._clock.now()
            user = User(UserId(new_id("usr")), command.handle, command.display_name, command.personas, now)
            if uow.users.by_handle(user.handle) is not None:
                raise HandleTaken(user.handle)
            uow.users.add(user)
            view = UserView.of(user)
            return Change(
                result=view,
                target=f"user:{user.id}",
                after={"handle": user.handle, "personas": list(view.personas)},
                events=(
                    UserCreated(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=user.id,
                        user_id=user.id,
                        personas=view.personas,
                    ),
                ),
            )

        return self._runner.run(
            command, action=Actions.CREATE_USER, target=f"handle:{command.handle}", result_type=UserView, body=body
        )
