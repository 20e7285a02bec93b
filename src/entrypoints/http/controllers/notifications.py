"""In-app notifications: your own, newest first; mark some or all of them read.

The bodies are declared here, next to the only routes that use them (the wire contract,
kept apart from the core's ``Notification``; the mapping is explicit below).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from attrs import frozen
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from core.notifications.domain import Notification, NotificationId
from core.notifications.use_cases.list_notifications import (
    DEFAULT_PAGE,
    MAX_PAGE,
    ListNotifications,
    ListNotificationsQuery,
    NotificationPage,
)
from core.notifications.use_cases.mark_notifications_read import MarkNotificationsRead, MarkNotificationsReadCommand
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.http.errors import problem_responses

_WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
_READ = problem_responses(400, 401, 403, 422, 503)


@frozen(kw_only=True)
class NotificationResponse:
    id: str
    kind: str  # the event's name, e.g. escrow.milestone_funded
    text: str
    contract_id: str | None
    milestone_id: str | None
    payout_id: str | None
    event_id: str
    created_at: datetime
    read_at: datetime | None


@frozen(kw_only=True)
class NotificationPageResponse:
    notifications: tuple[NotificationResponse, ...]
    unread: int  # all your unread notifications, not just this page's
    next_cursor: str | None  # pass as ?cursor= for the next (older) page; null on the last page


@frozen(kw_only=True)
class MarkNotificationsReadRequest:
    notification_ids: tuple[str, ...] = ()  # at most 200; or leave out and send all_unread
    all_unread: bool = False


@frozen(kw_only=True)
class MarkNotificationsReadResponse:
    marked: int  # how many went from unread to read
    unread: int  # your unread notifications left


def notification_response(notification: Notification) -> NotificationResponse:
    return NotificationResponse(
        id=notification.id,
        kind=notification.kind,
        text=notification.text,
        contract_id=notification.subjects.contract_id,
        milestone_id=notification.subjects.milestone_id,
        payout_id=notification.subjects.payout_id,
        event_id=notification.event_id,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


def page_response(page: NotificationPage) -> NotificationPageResponse:
    return NotificationPageResponse(
        notifications=tuple(notification_response(n) for n in page.notifications),
        unread=page.unread,
        next_cursor=page.next_cursor,
    )


class NotificationsController(Controller):
    path = "/notifications"
    tags = ["notifications"]

    @get("/", sync_to_thread=True, operation_id="listNotifications", responses=_READ)
    def list_notifications(
        self,
        *,
        actor: NamedDependency[Actor],
        list_notifications: NamedDependency[ListNotifications],
        cursor: Annotated[
            str | None, QueryParameter(description="The next_cursor of the previous page; omit for the newest")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Notifications per page")] = DEFAULT_PAGE,
        unread_only: Annotated[bool, QueryParameter(description="Leave out the ones already read")] = False,
        user_id: Annotated[
            str | None, QueryParameter(description="Support and admin only: this member's notifications")
        ] = None,
    ) -> NotificationPageResponse:
        """Your notifications, newest first, one page at a time, with your unread count."""
        query = ListNotificationsQuery(by=actor, cursor=cursor, limit=limit, unread_only=unread_only, user_id=user_id)
        return page_response(list_notifications(query))

    @post("/read", status_code=200, sync_to_thread=True, operation_id="markNotificationsRead", responses=_WRITE)
    def mark_read(
        self,
        *,
        data: JSONBody[MarkNotificationsReadRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        mark_notifications_read: NamedDependency[MarkNotificationsRead],
    ) -> MarkNotificationsReadResponse:
        """Mark your notifications read: up to 200 by `notification_ids`, or every
        unread one with `all_unread`. Another user's notification is a 404, like a missing
        one, and then nothing is marked."""
        command = MarkNotificationsReadCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            notification_ids=tuple(NotificationId(i) for i in data.notification_ids),
            all_unread=data.all_unread,
        )
        result = mark_notifications_read(command)
        return MarkNotificationsReadResponse(marked=result.marked, unread=result.unread)
