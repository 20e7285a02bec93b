from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.messaging.domain import Actions, DeadLetter
from core.messaging.ports import MessagingUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.errors import InvalidInput

MAX_PAGE = 200


@frozen(kw_only=True)
class ListDeadLettersQuery:
    by: Actor
    limit: int = 50
    consumer: str | None = None
    before_id: str | None = None


@frozen(kw_only=True)
class DeadLetterPage:
    letters: tuple[DeadLetter, ...]
    total: int
    next_before_id: str | None


class ListDeadLetters:
    """Dead letters, newest first, for support, finance and admin. Reads only. Raises
    Forbidden, InvalidInput (limit outside 1..200)."""

    def __init__(self, new_uow: Callable[[], MessagingUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: ListDeadLettersQuery) -> DeadLetterPage:
        if not self._authorizer.allows(query.by, Actions.READ_DEAD_LETTERS):
            raise Forbidden(Actions.READ_DEAD_LETTERS)
        if isinstance(query.limit, bool) or not isinstance(query.limit, int) or not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput("limit", f"an integer from 1 to {MAX_PAGE}")
        with self._new_uow() as uow:
            letters = uow.dead_letters.list(limit=query.limit + 1, consumer=query.consumer, before_id=query.before_id)
            total = uow.dead_letters.count()
        more = len(letters) > query.limit
        page = tuple(letters[: query.limit])
        return DeadLetterPage(letters=page, total=total, next_before_id=page[-1].id if more else None)
