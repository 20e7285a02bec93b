from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.messaging.domain import Heartbeat, OutboxStats
from core.messaging.ports import MessagingUnitOfWork


@frozen(kw_only=True)
class MessagingStatus:
    outbox: OutboxStats
    dead_letters: int
    last_heartbeat: Heartbeat | None


class GetMessagingStatus:
    """Outbox lag, dead-letter count and the newest worker heartbeat: what probes and
    metrics report. Reads only; for the system (probes), not an actor's command."""

    def __init__(self, new_uow: Callable[[], MessagingUnitOfWork]) -> None:
        self._new_uow = new_uow

    def __call__(self) -> MessagingStatus:
        with self._new_uow() as uow:
            return MessagingStatus(
                outbox=uow.outbox_feed.stats(),
                dead_letters=uow.dead_letters.count(),
                last_heartbeat=uow.heartbeats.latest(),
            )


class RecordHeartbeat:
    """A worker says it is alive (every few seconds)."""

    def __init__(self, new_uow: Callable[[], MessagingUnitOfWork]) -> None:
        self._new_uow = new_uow

    def __call__(self, heartbeat: Heartbeat) -> None:
        with self._new_uow() as uow:
            uow.heartbeats.beat(heartbeat)
            uow.commit()
