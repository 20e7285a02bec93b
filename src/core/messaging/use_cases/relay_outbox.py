from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from attrs import frozen

from core.messaging.domain import Subscriptions
from core.messaging.ports import MessagingUnitOfWork, Publisher
from core.shared.time import Clock

LEASE = "outbox-relay"


@frozen(kw_only=True)
class RelayRound:
    leader: bool  # False: another relay holds the lease, nothing was read
    read: int = 0  # events read from the outbox
    delivered: int = 0  # deliveries confirmed
    published: int = 0  # events marked published (all of their deliveries confirmed)

    @property
    def full(self) -> bool:
        """Every event read was published: more may be waiting, go again at once."""
        return self.read > 0 and self.published == self.read

    @property
    def stalled(self) -> bool:
        """Events were waiting and none could be published (the broker is down)."""
        return self.read > 0 and self.published == 0 and self.delivered == 0


class RelayOutbox:
    """One round of the outbox relay: read committed events in outbox order, publish one
    delivery per subscribed consumer, mark published only what was confirmed.

    At least once: a crash between the publish and the mark publishes again (consumers
    dedupe by event id); nothing is marked that the publisher did not confirm. One relay
    at a time: the round first takes (or renews) the ``outbox-relay`` lease, so several
    workers can run a relay each and one of them leads; a dead leader's lease expires
    after ``lease_seconds`` and another takes over. Events nobody subscribes to are marked
    published at once. Storage failures raise DependencyUnavailable (retry next round).
    """

    def __init__(
        self,
        new_uow: Callable[[], MessagingUnitOfWork],
        publisher: Publisher,
        subscriptions: Subscriptions,
        clock: Clock,
        *,
        holder: str,
        lease_seconds: float = 30.0,
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("the relay lease must last a positive time")
        self._new_uow, self._publisher, self._subscriptions, self._clock = new_uow, publisher, subscriptions, clock
        self._holder, self._lease = holder, timedelta(seconds=lease_seconds)

    def __call__(self, *, limit: int = 500) -> RelayRound:
        now = self._clock.now()
        with self._new_uow() as uow:
            if not uow.leases.acquire(LEASE, holder=self._holder, now=now, until=now + self._lease):
                return RelayRound(leader=False)
            batch = uow.outbox_feed.pending(limit=limit)
            uow.commit()
        if not batch:
            return RelayRound(leader=True)
        deliveries = self._subscriptions.deliveries(batch)
        confirmed = {d.key for d in self._publisher.publish(deliveries)} if deliveries else set()
        done = [e.seq for e in batch if all((e.seq, c) in confirmed for c in self._subscriptions.consumers_of(e.name))]
        if done:
            with self._new_uow() as uow:
                uow.outbox_feed.mark_published(done, at=self._clock.now())
                uow.commit()
        return RelayRound(leader=True, read=len(batch), delivered=len(confirmed), published=len(done))

    def release(self) -> None:
        """Give the lease up (on shutdown), so another relay leads at once."""
        with self._new_uow() as uow:
            uow.leases.release(LEASE, holder=self._holder)
            uow.commit()
