"""The escrow test world plus notifications: handle what the outbox holds through
``HandleEvent`` (the messaging context's own use case) and read members' notifications."""

from __future__ import annotations

from typing import Any

from attrs import define

from core.messaging.use_cases.handle_event import Handled, HandleEvent
from core.notifications.domain import NotificationId
from core.notifications.use_cases.list_notifications import ListNotificationsQuery, NotificationPage
from core.notifications.use_cases.mark_notifications_read import (
    MarkNotificationsReadCommand,
    MarkNotificationsReadResult,
)
from core.notifications.use_cases.notify_parties import CONSUMER_NAME
from core.shared.actor import Actor
from core.shared.events import EventEnvelope
from core.shared.ids import IdempotencyKey
from core.shared.time import ManualClock
from entrypoints.container import build_in_memory
from tests.unit.core.world import key
from tests.unit.escrow.world import EscrowWorld


@define
class NotificationsWorld(EscrowWorld):
    @classmethod
    def in_memory(cls, policy: Any = None) -> NotificationsWorld:
        clock = ManualClock()
        return cls(build_in_memory(clock=clock), clock)

    def outbox(self) -> list[EventEnvelope]:
        with self.runtime.new_unit_of_work() as uow:
            envelopes: list[EventEnvelope] = uow.outbox_feed.pending(limit=10_000)
        return envelopes

    def handle_all(self) -> list[Handled]:
        """Every outbox event through ``HandleEvent`` with the notifications consumer."""
        handle = HandleEvent(
            self.runtime.persistence.uow_factory(), [self.runtime.use_cases.notify_parties()], self.clock
        )
        return [handle(CONSUMER_NAME, envelope) for envelope in self.outbox()]

    def inbox(self, actor: Actor, **query: Any) -> NotificationPage:
        page: NotificationPage = self.uc.list_notifications()(ListNotificationsQuery(by=actor, **query))
        return page

    def texts(self, actor: Actor) -> list[str]:
        return [n.text for n in self.inbox(actor, limit=200).notifications]

    def mark_read(
        self,
        actor: Actor,
        *ids: NotificationId,
        all_unread: bool = False,
        k: IdempotencyKey | None = None,
    ) -> MarkNotificationsReadResult:
        result: MarkNotificationsReadResult = self.uc.mark_notifications_read()(
            self.command(MarkNotificationsReadCommand, actor, k or key(), notification_ids=ids, all_unread=all_unread)
        )
        return result
