"""Behaviour every messaging adapter has: the relay's side of the outbox, the inbox, dead
letters, worker heartbeats and leases, and ``HandleEvent`` over them. Subclasses supply
``make_uow`` and ``wait_until_blocked``; the SQL-only class also ``engine``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from attrs import frozen
from sqlalchemy import Engine, inspect, text
from sqlalchemy import exc as sa_exc

from adapters.sql.column_types import UtcDateTime
from adapters.sql.migrations import current_revision, downgrade, head_revision, upgrade
from adapters.sql.tables import metadata
from core.ledger.domain import FundsDeposited
from core.messaging.domain import Consumer, DeadLetter, Heartbeat, UnknownConsumer
from core.messaging.use_cases.handle_event import Handled, HandleEvent
from core.messaging.use_cases.record_dead_letter import RecordDeadLetter
from core.shared.errors import InvalidInput
from core.shared.events import DomainEvent, EventEnvelope
from core.shared.ids import EventId, new_id
from core.shared.time import ManualClock

from ..builders import T0
from ..harness import MakeUow, WaitUntilBlocked
from ..threads import in_background, race
from .outbox import some_events

CONSUMER = "tests.recorder"
OTHER_CONSUMER = "tests.bystander"


@frozen(kw_only=True)
class Noted(DomainEvent):
    name: ClassVar[str] = "tests.noted"
    note: str = ""


@frozen(kw_only=True)
class Ignored(DomainEvent):
    name: ClassVar[str] = "tests.ignored"


def noted(aggregate: str = "agg_1", *, minutes: int = 0, note: str = "") -> Noted:
    return Noted(
        event_id=EventId(new_id("evt")), occurred_at=T0 + timedelta(minutes=minutes), aggregate_id=aggregate, note=note
    )


def ignored(aggregate: str = "agg_1") -> Ignored:
    return Ignored(event_id=EventId(new_id("evt")), occurred_at=T0, aggregate_id=aggregate)


def add(make_uow: MakeUow, *events: DomainEvent) -> None:
    with make_uow() as uow:
        uow.outbox.add(events)
        uow.commit()


def pending(make_uow: MakeUow, limit: int = 100) -> list[EventEnvelope]:
    with make_uow() as uow:
        result: list[EventEnvelope] = uow.outbox_feed.pending(limit=limit)
        return result


def envelopes_of(make_uow: MakeUow, *events: DomainEvent) -> list[EventEnvelope]:
    """Add ``events`` (committed) and return their envelopes, in outbox order."""
    add(make_uow, *events)
    wanted = {e.event_id for e in events}
    return [e for e in pending(make_uow, 10_000) if e.event_id in wanted]


def publish(make_uow: MakeUow, seqs: Sequence[int], *, at: datetime = T0, commit: bool = True) -> None:
    with make_uow() as uow:
        uow.outbox_feed.mark_published(seqs, at=at)
        if commit:
            uow.commit()


def a_letter(
    consumer: str = CONSUMER, event_id: str | None = None, *, letter_id: str | None = None, minutes: int = 0
) -> DeadLetter:
    return DeadLetter(
        id=letter_id or new_id("dlq"),
        consumer=consumer,
        event_id=event_id or new_id("evt"),
        event_name=Noted.name,
        aggregate_id="agg_1",
        attempts=3,
        error_code="event_out_of_order",
        error="tests: ünïcode detail",
        failed_at=T0 + timedelta(minutes=minutes),
    )


def bury(make_uow: MakeUow, *letters: DeadLetter) -> list[bool]:
    with make_uow() as uow:
        recorded = [uow.dead_letters.record(letter) for letter in letters]
        uow.commit()
    return recorded


def accept(make_uow: MakeUow, event_id: str, *, consumer: str = CONSUMER, commit: bool = True) -> bool:
    with make_uow() as uow:
        accepted = bool(uow.inbox.accept(consumer, event_id, at=T0))
        if commit:
            uow.commit()
    return accepted


class OutboxFeedContract:
    def test_pending_events_come_in_outbox_order_up_to_the_limit(self, make_uow: MakeUow) -> None:
        first = [noted("agg_b"), noted("agg_a"), noted("agg_b")]
        second = [noted("agg_a"), ignored("agg_c")]
        add(make_uow, *first)
        add(make_uow, *second)
        listed = pending(make_uow)
        assert [e.event_id for e in listed] == [e.event_id for e in first + second]
        assert [e.seq for e in listed] == sorted({e.seq for e in listed})  # distinct, increasing
        assert [e.event_id for e in pending(make_uow, 2)] == [e.event_id for e in first[:2]]
        assert pending(make_uow, 0) == []

    def test_an_envelope_carries_the_event_and_its_json_document(self, make_uow: MakeUow) -> None:
        wallet_opened, deposited, user_created = some_events()
        assert isinstance(deposited, FundsDeposited)
        add(make_uow, wallet_opened, deposited, user_created)
        _, got, user = pending(make_uow)
        assert (got.event_id, got.name, got.aggregate_id) == (
            deposited.event_id,
            "ledger.funds_deposited",
            deposited.aggregate_id,
        )
        assert got.occurred_at == T0 and got.occurred_at.isoformat() == T0.isoformat()
        assert dict(got.payload) == {
            "event_id": deposited.event_id,
            "occurred_at": T0.isoformat(),
            "aggregate_id": deposited.aggregate_id,
            "entry_id": deposited.entry_id,
            "wallet_id": deposited.wallet_id,
            "amount": {"minor": 500, "currency": "EUR"},
            "source": "sandbox",
        }
        assert got.text("source") == "sandbox"
        assert user.payload["personas"] == ["client", "provider"]

    def test_published_events_are_no_longer_pending(self, make_uow: MakeUow) -> None:
        envelopes = envelopes_of(make_uow, noted(), noted(), noted())
        publish(make_uow, [envelopes[0].seq, envelopes[2].seq])
        assert [e.event_id for e in pending(make_uow)] == [envelopes[1].event_id]

    def test_marking_published_twice_or_nothing_changes_nothing(self, make_uow: MakeUow) -> None:
        envelopes = envelopes_of(make_uow, noted(), noted())
        publish(make_uow, [envelopes[0].seq])
        publish(make_uow, [envelopes[0].seq, envelopes[0].seq], at=T0 + timedelta(hours=1))
        publish(make_uow, [])
        publish(make_uow, [10**9])  # no such event
        assert [e.event_id for e in pending(make_uow)] == [envelopes[1].event_id]
        with make_uow() as uow:
            stats = uow.outbox_feed.stats()
        assert (stats.pending, stats.published) == (1, 1)

    def test_marking_without_commit_leaves_events_pending(self, make_uow: MakeUow) -> None:
        envelopes = envelopes_of(make_uow, noted(), noted())
        publish(make_uow, [e.seq for e in envelopes], commit=False)
        assert [e.event_id for e in pending(make_uow)] == [e.event_id for e in envelopes]

    def test_stats_count_pending_and_published_and_tell_the_oldest_pending_time(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            empty = uow.outbox_feed.stats()
        assert (empty.pending, empty.oldest_pending_at, empty.published) == (0, None, 0)
        assert empty.lag_seconds(T0) == 0.0
        envelopes = envelopes_of(make_uow, noted(minutes=1), noted(minutes=3), noted(minutes=2), noted(minutes=-9))
        publish(make_uow, [envelopes[0].seq, envelopes[3].seq])
        with make_uow() as uow:
            stats = uow.outbox_feed.stats()
        assert (stats.pending, stats.published) == (2, 2)
        assert stats.oldest_pending_at == T0 + timedelta(minutes=2)
        assert stats.lag_seconds(T0 + timedelta(minutes=3)) == 60.0
        publish(make_uow, [envelopes[1].seq, envelopes[2].seq])
        with make_uow() as uow:
            done = uow.outbox_feed.stats()
        assert (done.pending, done.oldest_pending_at, done.published) == (0, None, 4)


class InboxContract:
    def test_an_event_is_accepted_once_per_consumer(self, make_uow: MakeUow) -> None:
        event_id = new_id("evt")
        with make_uow() as uow:
            assert uow.inbox.handled(CONSUMER, event_id) is False
            assert uow.inbox.accept(CONSUMER, event_id, at=T0) is True
            assert uow.inbox.handled(CONSUMER, event_id) is True
            assert uow.inbox.accept(CONSUMER, event_id, at=T0) is False
            uow.commit()
        assert accept(make_uow, event_id) is False
        assert accept(make_uow, event_id, consumer=OTHER_CONSUMER) is True
        with make_uow() as uow:
            assert uow.inbox.handled(CONSUMER, event_id) and uow.inbox.handled(OTHER_CONSUMER, event_id)
            assert not uow.inbox.handled(CONSUMER, new_id("evt"))

    def test_leaving_without_commit_forgets_the_acceptance(self, make_uow: MakeUow) -> None:
        event_id = new_id("evt")
        assert accept(make_uow, event_id, commit=False) is True
        with make_uow() as uow:
            assert uow.inbox.handled(CONSUMER, event_id) is False
        assert accept(make_uow, event_id) is True

    def test_racing_acceptances_of_one_event_let_exactly_one_through(self, make_uow: MakeUow) -> None:
        event_id = new_id("evt")
        outcomes = race(*[lambda: accept(make_uow, event_id) for _ in range(4)])
        assert sorted(outcomes, key=repr) == [False, False, False, True]

    @pytest.mark.parametrize("first_commits", [True, False], ids=["holder-commits", "holder-rolls-back"])
    def test_an_acceptance_racing_an_open_one_waits_for_its_outcome(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked, first_commits: bool
    ) -> None:
        event_id = new_id("evt")
        with make_uow() as uow:
            assert uow.inbox.accept(CONSUMER, event_id, at=T0)
            join = in_background(lambda: accept(make_uow, event_id))
            wait_until_blocked(uow)
            if first_commits:
                uow.commit()
        assert join() is (not first_commits)


class DeadLettersContract:
    def test_a_letter_reads_back_as_recorded(self, make_uow: MakeUow) -> None:
        letter = a_letter(minutes=7)
        assert bury(make_uow, letter) == [True]
        with make_uow() as uow:
            assert uow.dead_letters.list(limit=10) == [letter]
            assert uow.dead_letters.count() == 1

    def test_a_second_letter_for_the_same_consumer_and_event_is_dropped(self, make_uow: MakeUow) -> None:
        first = a_letter()
        again = a_letter(event_id=first.event_id, minutes=5)
        other_consumer = a_letter(OTHER_CONSUMER, first.event_id)
        assert bury(make_uow, first, again) == [True, False]
        assert bury(make_uow, again, other_consumer) == [False, True]
        with make_uow() as uow:
            assert sorted(uow.dead_letters.list(limit=10), key=lambda d: d.id) == sorted(
                [first, other_consumer], key=lambda d: d.id
            )
            assert uow.dead_letters.count() == 2

    def test_letters_list_newest_first_by_id_filtered_and_paged(self, make_uow: MakeUow) -> None:
        letters = [a_letter(letter_id=f"dlq_{n:04d}") for n in (3, 1, 4, 2)]
        theirs = [a_letter(OTHER_CONSUMER, letter_id=f"dlq_{n:04d}") for n in (5, 0)]
        bury(make_uow, *letters, *theirs)

        def ids(limit: int = 100, consumer: str | None = None, before_id: str | None = None) -> list[str]:
            with make_uow() as uow:
                return [d.id for d in uow.dead_letters.list(limit=limit, consumer=consumer, before_id=before_id)]

        assert ids() == ["dlq_0005", "dlq_0004", "dlq_0003", "dlq_0002", "dlq_0001", "dlq_0000"]
        assert ids(2) == ["dlq_0005", "dlq_0004"]
        assert ids(consumer=CONSUMER) == ["dlq_0004", "dlq_0003", "dlq_0002", "dlq_0001"]
        assert ids(2, consumer=CONSUMER, before_id="dlq_0004") == ["dlq_0003", "dlq_0002"]
        assert ids(before_id="dlq_0002") == ["dlq_0001", "dlq_0000"]
        assert ids(consumer="tests.nobody") == []
        assert ids(0) == []
        with make_uow() as uow:
            assert uow.dead_letters.count() == 6

    def test_leaving_without_commit_records_nothing(self, make_uow: MakeUow) -> None:
        letter = a_letter()
        with make_uow() as uow:
            assert uow.dead_letters.record(letter)
        with make_uow() as uow:
            assert (uow.dead_letters.list(limit=10), uow.dead_letters.count()) == ([], 0)
        assert bury(make_uow, letter) == [True]


def a_beat(worker: str, *, seconds: int, host: str = "host-a", pid: int = 100) -> Heartbeat:
    return Heartbeat(worker_id=worker, host=host, pid=pid, started_at=T0, beat_at=T0 + timedelta(seconds=seconds))


def beat(make_uow: MakeUow, *beats: Heartbeat, commit: bool = True) -> None:
    with make_uow() as uow:
        for heartbeat in beats:
            uow.heartbeats.beat(heartbeat)
        if commit:
            uow.commit()


def latest(make_uow: MakeUow) -> Heartbeat | None:
    with make_uow() as uow:
        found: Heartbeat | None = uow.heartbeats.latest()
        return found


class HeartbeatsContract:
    def test_no_worker_no_heartbeat(self, make_uow: MakeUow) -> None:
        assert latest(make_uow) is None

    def test_the_latest_heartbeat_of_any_worker_is_reported(self, make_uow: MakeUow) -> None:
        beat(make_uow, a_beat("wrk_a", seconds=5), a_beat("wrk_b", seconds=9, host="host-b", pid=7))
        beat(make_uow, a_beat("wrk_c", seconds=1))
        assert latest(make_uow) == a_beat("wrk_b", seconds=9, host="host-b", pid=7)

    def test_a_worker_beating_again_refreshes_its_one_row(self, make_uow: MakeUow) -> None:
        beat(make_uow, a_beat("wrk_a", seconds=5), a_beat("wrk_b", seconds=9))
        refreshed = Heartbeat(
            worker_id="wrk_a",
            host="host-z",
            pid=200,
            started_at=T0 + timedelta(seconds=1),
            beat_at=T0 + timedelta(seconds=30),
        )
        beat(make_uow, refreshed)
        assert latest(make_uow) == refreshed
        beat(make_uow, a_beat("wrk_a", seconds=2))  # its clock went back: the newest row wins
        assert latest(make_uow) == a_beat("wrk_b", seconds=9)

    def test_leaving_without_commit_keeps_the_previous_beat(self, make_uow: MakeUow) -> None:
        beat(make_uow, a_beat("wrk_a", seconds=5))
        beat(make_uow, a_beat("wrk_a", seconds=50), a_beat("wrk_b", seconds=60), commit=False)
        assert latest(make_uow) == a_beat("wrk_a", seconds=5)


LEASE = "tests.lease"


def acquire(make_uow: MakeUow, holder: str, *, now: int, until: int, name: str = LEASE) -> bool:
    """Minutes after T0."""
    with make_uow() as uow:
        taken = bool(
            uow.leases.acquire(
                name, holder=holder, now=T0 + timedelta(minutes=now), until=T0 + timedelta(minutes=until)
            )
        )
        uow.commit()
    return taken


def release(make_uow: MakeUow, holder: str, *, name: str = LEASE) -> None:
    with make_uow() as uow:
        uow.leases.release(name, holder=holder)
        uow.commit()


class LeasesContract:
    def test_a_free_lease_is_taken_and_another_holder_is_refused_while_it_lasts(self, make_uow: MakeUow) -> None:
        assert acquire(make_uow, "relay-a", now=0, until=10)
        assert not acquire(make_uow, "relay-b", now=5, until=15)
        assert not acquire(make_uow, "relay-b", now=9, until=19)
        assert acquire(make_uow, "relay-b", now=1, until=10, name="tests.other_lease")  # names are separate

    def test_an_expired_lease_is_taken_over(self, make_uow: MakeUow) -> None:
        assert acquire(make_uow, "relay-a", now=0, until=10)
        assert acquire(make_uow, "relay-b", now=11, until=21)
        assert not acquire(make_uow, "relay-a", now=12, until=22)  # the old holder lost it

    def test_a_lease_is_free_from_the_moment_it_expires(self, make_uow: MakeUow) -> None:
        assert acquire(make_uow, "relay-a", now=0, until=10)
        assert acquire(make_uow, "relay-b", now=10, until=20)

    def test_the_holder_renews_its_lease(self, make_uow: MakeUow) -> None:
        assert acquire(make_uow, "relay-a", now=0, until=10)
        assert acquire(make_uow, "relay-a", now=8, until=18)
        assert not acquire(make_uow, "relay-b", now=12, until=22)  # the renewal counts
        assert acquire(make_uow, "relay-a", now=30, until=40)  # expired, still free to retake

    def test_releasing_frees_the_lease_only_for_its_holder(self, make_uow: MakeUow) -> None:
        assert acquire(make_uow, "relay-a", now=0, until=10)
        release(make_uow, "relay-b")
        assert not acquire(make_uow, "relay-b", now=1, until=11)
        release(make_uow, "relay-a")
        assert acquire(make_uow, "relay-b", now=1, until=11)
        release(make_uow, "relay-a")  # not its lease any more: nothing happens
        assert not acquire(make_uow, "relay-a", now=2, until=12)
        release(make_uow, "relay-x", name="tests.never_taken")

    def test_an_acquisition_left_without_commit_takes_nothing(self, make_uow: MakeUow) -> None:
        assert acquire(make_uow, "relay-a", now=0, until=10)
        with make_uow() as uow:
            assert uow.leases.acquire(
                LEASE, holder="relay-b", now=T0 + timedelta(minutes=11), until=T0 + timedelta(days=1)
            )
        assert acquire(make_uow, "relay-c", now=11, until=21)

    @pytest.mark.parametrize("held", [False, True], ids=["free", "expired"])
    def test_racing_relays_take_a_lease_one_at_a_time(self, make_uow: MakeUow, held: bool) -> None:
        if held:
            assert acquire(make_uow, "relay-old", now=0, until=1)
        outcomes = race(*[lambda h=f"relay-{n}": acquire(make_uow, h, now=5, until=10) for n in range(4)])
        assert sorted(outcomes, key=repr) == [False, False, False, True]


# --- HandleEvent over the adapter -----------------------------------------------------


class Recorder:
    """A test consumer of ``tests.noted``: its effect is a heartbeat row named after the
    event (written in HandleEvent's unit of work), and a note of every call."""

    name = CONSUMER
    events = frozenset({Noted.name})

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refuse: set[str] = set()

    def handle(self, envelope: EventEnvelope, uow: Any) -> None:
        self.calls.append(envelope.event_id)
        uow.heartbeats.beat(
            Heartbeat(worker_id=envelope.event_id, host="effect", pid=1, started_at=T0, beat_at=envelope.occurred_at)
        )
        if envelope.event_id in self.refuse:
            raise InvalidInput("note", envelope.text("note"))


class HandleEventContract:
    @pytest.fixture
    def recorder(self) -> Recorder:
        return Recorder()

    @pytest.fixture
    def handle(self, make_uow: MakeUow, recorder: Recorder) -> HandleEvent:
        consumers: list[Consumer] = [recorder]
        return HandleEvent(make_uow, consumers, ManualClock(T0))

    def test_a_duplicate_delivery_is_handled_once(
        self, make_uow: MakeUow, handle: HandleEvent, recorder: Recorder
    ) -> None:
        [envelope] = envelopes_of(make_uow, noted(minutes=3))
        assert handle(CONSUMER, envelope) is Handled.HANDLED
        assert handle(CONSUMER, envelope) is Handled.DUPLICATE
        assert recorder.calls == [envelope.event_id]
        with make_uow() as uow:
            assert uow.inbox.handled(CONSUMER, envelope.event_id)
        effect = latest(make_uow)
        assert effect is not None and (effect.worker_id, effect.beat_at) == (
            envelope.event_id,
            T0 + timedelta(minutes=3),
        )

    def test_racing_deliveries_of_one_event_take_effect_once(
        self, make_uow: MakeUow, handle: HandleEvent, recorder: Recorder
    ) -> None:
        [envelope] = envelopes_of(make_uow, noted())
        outcomes = race(*[lambda: handle(CONSUMER, envelope) for _ in range(3)])
        assert sorted(o.value for o in outcomes) == ["duplicate", "duplicate", "handled"]
        with make_uow() as uow:
            assert uow.inbox.handled(CONSUMER, envelope.event_id)
        effect = latest(make_uow)
        assert effect is not None and effect.worker_id == envelope.event_id

    def test_events_of_one_aggregate_are_handled_in_whatever_order_they_arrive(
        self, make_uow: MakeUow, handle: HandleEvent, recorder: Recorder
    ) -> None:
        """ADR 0011: consumption does not wait for an aggregate's earlier events."""
        first, second = envelopes_of(make_uow, noted("agg_1"), noted("agg_1"))
        assert handle(CONSUMER, second) is Handled.HANDLED
        assert handle(CONSUMER, first) is Handled.HANDLED
        assert handle(CONSUMER, second) is Handled.DUPLICATE
        assert recorder.calls == [second.event_id, first.event_id]

    def test_an_event_the_consumer_does_not_subscribe_to_is_marked_handled_untouched(
        self, make_uow: MakeUow, handle: HandleEvent, recorder: Recorder
    ) -> None:
        [envelope] = envelopes_of(make_uow, ignored())
        assert handle(CONSUMER, envelope) is Handled.HANDLED
        assert recorder.calls == [] and latest(make_uow) is None
        with make_uow() as uow:
            assert uow.inbox.handled(CONSUMER, envelope.event_id)

    def test_a_refused_event_writes_nothing_so_a_retry_handles_it(
        self, make_uow: MakeUow, handle: HandleEvent, recorder: Recorder
    ) -> None:
        [envelope] = envelopes_of(make_uow, noted(note="bad"))
        recorder.refuse.add(envelope.event_id)
        with pytest.raises(InvalidInput):
            handle(CONSUMER, envelope)
        with make_uow() as uow:  # neither the inbox row nor the effect
            assert not uow.inbox.handled(CONSUMER, envelope.event_id)
        assert latest(make_uow) is None
        recorder.refuse.clear()
        assert handle(CONSUMER, envelope) is Handled.HANDLED
        assert recorder.calls == [envelope.event_id, envelope.event_id]
        effect = latest(make_uow)
        assert effect is not None and effect.worker_id == envelope.event_id

    def test_an_unknown_consumer_is_refused(self, make_uow: MakeUow, handle: HandleEvent) -> None:
        [envelope] = envelopes_of(make_uow, noted())
        with pytest.raises(UnknownConsumer):
            handle("tests.nobody", envelope)


class RecordDeadLetterContract:
    def test_recorded_letters_list_newest_first_and_the_first_one_per_event_stays(self, make_uow: MakeUow) -> None:
        clock = ManualClock(T0)
        record = RecordDeadLetter(make_uow, clock)
        envelopes = envelopes_of(make_uow, noted(), noted(), noted())
        ids = []
        for envelope in envelopes:
            ids.append(record(CONSUMER, envelope, attempts=2, error=InvalidInput("note", "unreadable")))
            clock.advance(timedelta(microseconds=1))
        record(CONSUMER, envelopes[0], attempts=9, error=RuntimeError("again"))
        with make_uow() as uow:
            letters = uow.dead_letters.list(limit=10)
        assert [d.id for d in letters] == ids[::-1]
        assert [d.event_id for d in letters] == [e.event_id for e in envelopes[::-1]]
        assert (letters[-1].attempts, letters[-1].error_code, letters[-1].error) == (
            2,
            "invalid_input",
            "note: unreadable",
        )
        assert letters[-1].failed_at == T0


class MessagingContract(
    OutboxFeedContract,
    InboxContract,
    DeadLettersContract,
    HeartbeatsContract,
    LeasesContract,
    HandleEventContract,
    RecordDeadLetterContract,
):
    """Every messaging port, for one adapter."""


class SqlMessagingContract:
    """What only the SQL adapter promises. Subclasses supply ``engine`` and ``make_uow``."""

    @pytest.mark.parametrize("statement", ["UPDATE dead_letters SET error = 'edited'", "DELETE FROM dead_letters"])
    def test_dead_letters_refuse_edits(self, engine: Engine, make_uow: MakeUow, statement: str) -> None:
        letter = a_letter()
        bury(make_uow, letter)
        with pytest.raises(sa_exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
        with make_uow() as uow:
            assert uow.dead_letters.list(limit=10) == [letter]

    def test_publishing_keeps_the_first_publication_time(self, engine: Engine, make_uow: MakeUow) -> None:
        [envelope] = envelopes_of(make_uow, noted())
        publish(make_uow, [envelope.seq], at=T0 + timedelta(minutes=1))
        publish(make_uow, [envelope.seq], at=T0 + timedelta(minutes=2))
        query = text("SELECT published_at FROM outbox WHERE id = :id").columns(published_at=UtcDateTime())
        with engine.connect() as connection:
            assert connection.execute(query, {"id": envelope.seq}).scalar_one() == T0 + timedelta(minutes=1)

    def test_the_messaging_revision_goes_down_and_up_again(self, engine: Engine, make_uow: MakeUow) -> None:
        [envelope] = envelopes_of(make_uow, noted())
        accept(make_uow, envelope.event_id)
        bury(make_uow, a_letter())
        downgrade(engine, "0003")
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert not tables & {"inbox", "dead_letters", "worker_heartbeats", "leases"}
            assert "ix_outbox_pending" not in {i["name"] for i in inspect(connection).get_indexes("outbox")}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        assert [e.event_id for e in pending(make_uow)] == [envelope.event_id]  # the outbox kept its rows
