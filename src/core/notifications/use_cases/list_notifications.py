from __future__ import annotations

import re
from collections.abc import Callable

from attrs import frozen

from core.notifications.domain import Actions, Notification
from core.notifications.ports import NotificationsUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.errors import InvalidInput

MAX_PAGE = 200
DEFAULT_PAGE = 50


@frozen(kw_only=True)
class ListNotificationsQuery:
    by: Actor
    cursor: str | None = None
    limit: int = DEFAULT_PAGE
    unread_only: bool = False
    user_id: str | None = None  # support and admin: this member's notifications


@frozen(kw_only=True)
class NotificationPage:
    recipient_id: str
    notifications: tuple[Notification, ...]
    unread: int  # all of the recipient's unread notifications, not just this page's
    next_cursor: str | None


_CURSOR = re.compile(r"n[0-9]{1,18}")  # ASCII digits only, and always within a BIGINT


def _decode(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        raise InvalidInput("cursor", "not a cursor returned by a previous page")
    return int(cursor[1:])


class ListNotifications:
    """The actor's own notifications, newest first, one page at a time (keyset paging:
    pages stay stable while new notifications arrive); ``unread_only`` leaves read ones
    out. Support and admin may pass ``user_id`` to see a member's. Reads only.
    Raises Forbidden, InvalidInput (limit outside 1..200, a cursor not from a page)."""

    def __init__(self, new_uow: Callable[[], NotificationsUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: ListNotificationsQuery) -> NotificationPage:
        if not self._authorizer.allows(query.by, Actions.READ):
            raise Forbidden(Actions.READ)
        if isinstance(query.limit, bool) or not isinstance(query.limit, int) or not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be an integer from 1 to {MAX_PAGE}")
        if not isinstance(query.unread_only, bool):
            raise InvalidInput("unread_only", "must be true or false")
        before = _decode(query.cursor)
        recipient = query.by.id
        if query.user_id is not None and query.user_id != query.by.id:
            if not self._authorizer.allows(query.by, Actions.READ_ANY):
                raise Forbidden(Actions.READ_ANY)
            recipient = query.user_id
        with self._new_uow() as uow:
            listed = uow.notifications.page(
                recipient, before_seq=before, limit=query.limit + 1, unread_only=query.unread_only
            )
            unread = uow.notifications.unread_count(recipient)
        more = len(listed) > query.limit
        page = listed[: query.limit]
        return NotificationPage(
            recipient_id=recipient,
            notifications=tuple(item.notification for item in page),
            unread=unread,
            next_cursor=f"n{page[-1].seq}" if more else None,
        )
