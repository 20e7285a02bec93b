"""Core messaging on the in-memory adapter: relay, inbox, dead letters, the in-process
publisher, leases. The same ports are contract-tested on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.memory import MemoryStore, MemoryUnitOfWork
from core.identity.domain import PolicyAuthorizer
from core.messaging.domain import Delivery, Subscriptions, UnknownConsumer, describe, is_transient
from core.messaging.use_cases.direct_publisher import DirectPublisher
from core.messaging.use_cases.handle_event import Handled, HandleEvent
from core.messaging.use_cases.list_dead_letters import ListDeadLetters, ListDeadLettersQuery
from core.messaging.use_cases.record_dead_letter import RecordDeadLetter
from core.messaging.use_cases.relay_outbox import RelayOutbox
from core.shared.actor import Actor, ActorKind, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import DependencyUnavailable, InvalidInput
from core.shared.events import DomainEvent, EventEnvelope
from core.shared.ids import EventId, new_id
from core.shared.time import ManualClock

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Pinged(DomainEvent):
    name = "test.pinged"


class Ponged(DomainEvent):
    name = "test.ponged"


def ping(aggregate: str = "agg_1", cls: type[DomainEvent] = Pinged) -> DomainEvent:
    return cls(event_id=EventId(new_id("evt")), occurred_at=T0, aggregate_id=aggregate)


class Recorder:
    """A consumer whose effect is a list in the store's undo-able world: it writes an
    audit-free marker through the unit of work's rollback hook, so a rolled-back
    handling leaves nothing behind."""

    def __init__(self, name: str = "recorder", events: frozenset[str] = frozenset({"test.pinged"})) -> None:
        self.name, self.events = name, events
        self.effects: list[str] = []
        self.fail_with: BaseException | None = None

    def handle(self, envelope: EventEnvelope, uow: Any) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.effects.append(envelope.event_id)
        uow.on_rollback(lambda: self.effects.remove(envelope.event_id))


class World:
    def __init__(self, *consumers: Recorder) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock(T0)
        self.consumers = consumers or (Recorder(),)
        self.handle = HandleEvent(self.new_uow, self.consumers, self.clock)
        self.dead_letter = RecordDeadLetter(self.new_uow, self.clock)
        self.publisher = DirectPublisher(self.handle, self.dead_letter, self.clock, max_attempts=3)

    def new_uow(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store)

    def commit(self, *events: DomainEvent) -> None:
        with self.new_uow() as uow:
            uow.outbox.add(events)
            uow.commit()

    def relay(self, publisher: Any = None, holder: str = "relay-a") -> RelayOutbox:
        return RelayOutbox(
            self.new_uow,
            publisher or self.publisher,
            Subscriptions.of(self.consumers),
            self.clock,
            holder=holder,
            lease_seconds=30,
        )

    def pending(self) -> int:
        with self.new_uow() as uow:
            return uow.outbox_feed.stats().pending


def test_committed_events_reach_their_consumer_once_and_are_marked_published() -> None:
    world = World()
    events = [ping(), ping(), ping("agg_2")]
    world.commit(*events)

    first = world.relay()()
    again = world.relay()()

    assert (first.read, first.published, first.delivered) == (3, 3, 3)
    assert (again.read, again.published) == (0, 0)
    assert world.consumers[0].effects == [e.event_id for e in events]
    assert world.pending() == 0


def test_a_rolled_back_transaction_publishes_nothing() -> None:
    world = World()
    with world.new_uow() as uow:
        uow.outbox.add([ping()])  # no commit

    assert world.relay()().read == 0
    assert world.consumers[0].effects == []


def test_a_redelivered_event_changes_nothing() -> None:
    world = World()
    event = ping()
    world.commit(event)
    world.relay()()
    envelope = _envelope(world, event)

    assert world.handle("recorder", envelope) is Handled.DUPLICATE
    assert world.consumers[0].effects == [event.event_id]


def test_events_nobody_subscribes_to_are_marked_published_without_a_delivery() -> None:
    world = World()
    world.commit(ping(cls=Ponged))

    round_ = world.relay()()

    assert (round_.read, round_.delivered, round_.published) == (1, 0, 1)


class Refusing:
    """A publisher whose broker confirms only what ``confirm`` allows."""

    def __init__(self, confirm: Any) -> None:
        self.confirm = confirm
        self.seen: list[Delivery] = []

    def publish(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        self.seen.extend(deliveries)
        return [d for d in deliveries if self.confirm(d)]


def test_only_confirmed_events_are_marked_published_and_the_rest_are_sent_again() -> None:
    world = World()
    kept, lost = ping("agg_1"), ping("agg_2")
    world.commit(kept, lost)
    down = Refusing(lambda d: d.envelope.event_id == kept.event_id)

    round_ = world.relay(down)()

    assert (round_.read, round_.published) == (2, 1)
    assert world.pending() == 1
    up = Refusing(lambda d: True)
    assert world.relay(up)().published == 1
    assert [d.envelope.event_id for d in up.seen] == [lost.event_id]
    assert world.pending() == 0


def test_an_event_is_published_only_when_every_consumer_confirmed_it() -> None:
    a, b = Recorder("a"), Recorder("b")
    world = World(a, b)
    world.commit(ping())

    round_ = world.relay(Refusing(lambda d: d.consumer == "a"))()

    assert (round_.delivered, round_.published) == (1, 0)
    assert world.pending() == 1


def test_one_relay_leads_at_a_time_and_a_dead_leaders_lease_expires() -> None:
    world = World()
    world.commit(ping())
    leader, follower = world.relay(holder="a"), world.relay(holder="b")

    assert leader().leader
    assert not follower().leader
    world.clock.advance(timedelta(seconds=31))
    assert follower().leader
    assert not leader().leader  # b holds it now


def test_a_released_lease_lets_another_relay_lead_at_once() -> None:
    world = World()
    leader, follower = world.relay(holder="a"), world.relay(holder="b")
    leader()
    leader.release()

    assert follower().leader


def test_a_final_error_is_dead_lettered_at_once_and_counts_as_delivered() -> None:
    recorder = Recorder()
    recorder.fail_with = InvalidInput("payload", "broken")
    world = World(recorder)
    event = ping()
    world.commit(event)

    round_ = world.relay()()

    assert round_.published == 1
    with world.new_uow() as uow:
        [letter] = uow.dead_letters.list(limit=10)
    assert (letter.consumer, letter.event_id, letter.attempts, letter.error_code) == (
        "recorder",
        event.event_id,
        1,
        "invalid_input",
    )


def test_a_transient_error_is_retried_with_backoff_then_dead_lettered() -> None:
    recorder = Recorder()
    recorder.fail_with = DependencyUnavailable("database")
    world = World(recorder)
    world.commit(ping())

    assert world.relay()().published == 0  # attempt 1 failed
    assert world.relay()().published == 0  # still backing off: not attempted
    world.clock.advance(timedelta(seconds=1))
    assert world.relay()().published == 0  # attempt 2 failed
    world.clock.advance(timedelta(seconds=2))
    assert world.relay()().published == 1  # attempt 3 failed: out of attempts, dead-lettered
    with world.new_uow() as uow:
        [letter] = uow.dead_letters.list(limit=10)
    assert (letter.attempts, letter.error_code) == (3, "dependency_unavailable")


def test_a_transient_error_that_clears_is_handled_once() -> None:
    recorder = Recorder()
    recorder.fail_with = DependencyUnavailable("database")
    world = World(recorder)
    event = ping()
    world.commit(event)
    world.relay()()
    recorder.fail_with = None
    world.clock.advance(timedelta(seconds=1))

    assert world.relay()().published == 1
    assert recorder.effects == [event.event_id]


def test_later_events_of_an_aggregate_wait_behind_a_failing_one_in_process() -> None:
    recorder = Recorder()
    world = World(recorder)
    first, second, other = ping("agg_1"), ping("agg_1"), ping("agg_2")
    world.commit(first, second, other)
    recorder.fail_with = DependencyUnavailable("database")
    world.relay()()  # everything fails once
    recorder.fail_with = None

    round_ = world.relay()()  # agg_1 is backing off; agg_2 had failed too and backs off

    assert round_.published == 0
    world.clock.advance(timedelta(seconds=1))
    world.relay()()
    assert recorder.effects == [first.event_id, second.event_id, other.event_id]


def test_an_unknown_consumer_is_refused() -> None:
    world = World()
    with pytest.raises(UnknownConsumer):
        world.handle("nobody", _any_envelope())


def test_consumer_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        Subscriptions.of([Recorder("x"), Recorder("x")])


def test_errors_are_classified_for_retry_and_described_without_tracebacks() -> None:
    assert is_transient(DependencyUnavailable("database"))
    assert not is_transient(InvalidInput("x", "y"))
    assert is_transient(RuntimeError("surprise"))
    assert describe(InvalidInput("x", "y")) == ("invalid_input", "x: y")
    code, text = describe(RuntimeError("x" * 1000))
    assert code == "unexpected_error" and text.startswith("RuntimeError: ") and len(text) < 450


def test_dead_letters_are_listed_for_staff_only_newest_first_with_paging() -> None:
    world = World()
    for _ in range(3):
        world.dead_letter("recorder", _any_envelope(), attempts=1, error=InvalidInput("x", "y"))
    listing = ListDeadLetters(world.new_uow, PolicyAuthorizer())
    support = Actor(ActorKind.OPERATOR, "usr_support", frozenset({Persona.SUPPORT}))
    client = Actor(ActorKind.USER, "usr_client", frozenset({Persona.CLIENT}))

    page = listing(ListDeadLettersQuery(by=support, limit=2))
    rest = listing(ListDeadLettersQuery(by=support, limit=2, before_id=page.next_before_id))

    assert page.total == 3 and len(page.letters) == 2 and page.next_before_id is not None
    assert len(rest.letters) == 1 and rest.next_before_id is None
    assert page.letters[0].id > page.letters[1].id > rest.letters[0].id
    with pytest.raises(Forbidden):
        listing(ListDeadLettersQuery(by=client))
    with pytest.raises(InvalidInput):
        listing(ListDeadLettersQuery(by=support, limit=0))


def _envelope(world: World, event: DomainEvent) -> EventEnvelope:
    with world.new_uow() as uow:
        rows = [r for r in uow.store.outbox if r.event.event_id == event.event_id]
    return rows[0].envelope()


def _any_envelope() -> EventEnvelope:
    return EventEnvelope(seq=1, event_id=EventId(new_id("evt")), name="test.pinged", aggregate_id="a", occurred_at=T0)
