from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.notifications.domain import Actions, NotificationId, NotificationNotFound
from core.notifications.ports import NotificationsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.time import Clock

MAX_IDS = 200


@frozen(kw_only=True)
class MarkNotificationsReadCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    notification_ids: tuple[NotificationId, ...] = ()
    all_unread: bool = False  # instead of ids: every unread notification of the actor


@frozen(kw_only=True)
class MarkNotificationsReadResult:
    marked: int  # how many changed from unread to read
    unread: int  # the actor's unread notifications left


class MarkNotificationsRead:
    """Mark some of the actor's own notifications read (by id), or all unread ones.
    Marking a read one again changes nothing (it keeps its first read time). Nobody
    marks another user's notifications: a foreign id is reported as not found, like a
    missing one, and then nothing is marked. Raises Forbidden, InvalidInput (no ids and
    not ``all_unread``, both, or more than 200 ids), NotificationNotFound."""

    def __init__(self, new_uow: Callable[[], NotificationsUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: MarkNotificationsReadCommand) -> MarkNotificationsReadResult:
        ids = _valid(command)
        recipient = command.by.id

        def body(uow: NotificationsUnitOfWork) -> Change[MarkNotificationsReadResult]:
            if ids is not None:
                for notification_id in ids:
                    if uow.notifications.get(notification_id).recipient_id != recipient:
                        raise NotificationNotFound(notification_id)
            marked = uow.notifications.mark_read(recipient, ids=ids, at=self._clock.now())
            unread = uow.notifications.unread_count(recipient)
            return Change(
                result=MarkNotificationsReadResult(marked=marked, unread=unread),
                target=f"notifications:{recipient}",
                after={"marked": marked, "all_unread": ids is None, "ids": len(ids or ())},
            )

        return self._runner.run(
            command,
            action=Actions.MARK_READ,
            target=f"notifications:{recipient}",
            result_type=MarkNotificationsReadResult,
            body=body,
        )


def _valid(command: MarkNotificationsReadCommand) -> tuple[NotificationId, ...] | None:
    """The distinct ids in their order, or None for all unread. Raises InvalidInput."""
    if not isinstance(command.all_unread, bool):
        raise InvalidInput("all_unread", "must be true or false")
    raw = command.notification_ids
    if not isinstance(raw, (tuple, list)) or not all(isinstance(i, str) and i for i in raw):
        raise InvalidInput("notification_ids", "must be a list of notification ids")
    if command.all_unread:
        if raw:
            raise InvalidInput("notification_ids", "give ids or all_unread, not both")
        return None
    if not raw:
        raise InvalidInput("notification_ids", "give at least one id, or all_unread")
    if len(raw) > MAX_IDS:
        raise InvalidInput("notification_ids", f"at most {MAX_IDS} ids at a time")
    return tuple(dict.fromkeys(raw))
