"""The worker's actors and the relay's publisher, without services: Dramatiq's
StubBroker runs the real actors (``entrypoints.worker.actors``) over the in-memory
runtime; the publisher meets a RabbitMQ that is not there."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from adapters.messaging.envelopes import encode
from adapters.messaging.publisher import DramatiqPublisher
from core.messaging.use_cases.handle_event import HandleEvent
from core.messaging.use_cases.record_dead_letter import RecordDeadLetter
from core.shared.errors import DependencyUnavailable, InvalidInput
from core.shared.events import EventEnvelope
from core.shared.ids import EventId
from entrypoints.container import Runtime, build_in_memory
from entrypoints.settings import Settings
from entrypoints.worker.actors import RABBITMQ_CONSUMER_TIMEOUT_SECONDS, declare_consumer_actors
from tests.support.load import Depositors

DEPOSITED = "ledger.funds_deposited"


class Scripted:
    """A consumer that fails as told, then succeeds; counts its calls."""

    name = "scripted"
    events = frozenset({DEPOSITED})

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    def handle(self, envelope: EventEnvelope, uow: Any) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)


def _envelope(n: int = 1) -> EventEnvelope:
    return EventEnvelope(
        seq=n,
        event_id=EventId(f"evt_unit{n:08d}"),
        name=DEPOSITED,
        aggregate_id="wal_unit",
        occurred_at=datetime(2030, 1, 1, tzinfo=UTC),
        payload={},
    )


@pytest.fixture
def runtime() -> Runtime:
    return build_in_memory()


@pytest.fixture
def stub() -> Iterator[StubBroker]:
    broker = StubBroker(fail_fast_default=False)
    broker.add_middleware(CurrentMessage())
    broker.emit_after("process_boot")
    yield broker
    broker.close()


def _run(stub: StubBroker, runtime: Runtime, consumer: Scripted, *, max_retries: int = 3) -> tuple[Any, int]:
    """Declare the actors, send one event, process until the queue is empty; returns
    (the actor, how many dead letters the database holds)."""
    handle = HandleEvent(runtime.persistence.uow_factory(), [consumer], runtime.platform.clock())
    record = RecordDeadLetter(runtime.persistence.uow_factory(), runtime.platform.clock())
    (actor,) = declare_consumer_actors(
        stub, handle, record, max_retries=max_retries, max_backoff_seconds=1, time_limit_seconds=30
    )
    worker = dramatiq.Worker(stub, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        actor.send(encode(_envelope()))
        stub.join(actor.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()
    return actor, runtime.dead_letter_count()


def test_a_time_limit_near_rabbitmqs_consumer_timeout_is_refused(stub: StubBroker, runtime: Runtime) -> None:
    handle = HandleEvent(runtime.persistence.uow_factory(), [Scripted()], runtime.platform.clock())
    record = RecordDeadLetter(runtime.persistence.uow_factory(), runtime.platform.clock())
    with pytest.raises(ValueError):
        declare_consumer_actors(
            stub,
            handle,
            record,
            max_retries=1,
            max_backoff_seconds=1,
            time_limit_seconds=RABBITMQ_CONSUMER_TIMEOUT_SECONDS,
        )
    (actor,) = declare_consumer_actors(
        stub, handle, record, max_retries=1, max_backoff_seconds=1, time_limit_seconds=60
    )
    assert actor.options["time_limit"] == 60_000 < RABBITMQ_CONSUMER_TIMEOUT_SECONDS * 1000
    assert actor.actor_name == "scripted" and actor.queue_name == "gigcore.events.scripted"


def test_a_permanent_error_is_dead_lettered_once_and_not_retried(stub: StubBroker, runtime: Runtime) -> None:
    consumer = Scripted(InvalidInput("amount", "positive"))

    _actor, dead = _run(stub, runtime, consumer)

    assert consumer.calls == 1
    assert dead == 1
    assert len(stub.dead_letters) == 1  # and RabbitMQ's dead-letter queue has the message
    with runtime.new_unit_of_work() as uow:
        (letter,) = uow.dead_letters.list(limit=5)
        assert (letter.consumer, letter.error_code, letter.attempts) == ("scripted", "invalid_input", 1)
        assert not uow.inbox.handled("scripted", _envelope().event_id)


def test_a_transient_error_is_retried_and_handled_once(stub: StubBroker, runtime: Runtime) -> None:
    consumer = Scripted(DependencyUnavailable("database"))

    _, dead = _run(stub, runtime, consumer)

    assert consumer.calls == 2
    assert dead == 0 and stub.dead_letters == []
    with runtime.new_unit_of_work() as uow:
        assert uow.inbox.handled("scripted", _envelope().event_id)


def test_retries_run_out_into_a_dead_letter(stub: StubBroker, runtime: Runtime) -> None:
    consumer = Scripted(*(DependencyUnavailable("database") for _ in range(5)))

    _, dead = _run(stub, runtime, consumer, max_retries=1)

    assert consumer.calls == 2
    assert dead == 1 and len(stub.dead_letters) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_relay_marks_nothing_published_while_the_broker_is_down() -> None:
    runtime = build_in_memory(Settings(extra_consumers="tests.support.consumers:drill_auditor"))
    runtime.start()
    Depositors(runtime, 2).burst(4, threads=1)
    broker = RabbitmqBroker(url=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/", confirm_delivery=True)
    publisher = DramatiqPublisher(broker, lanes=2)
    try:
        round_ = runtime.relay(publisher, holder="unit")()
    finally:
        publisher.close()
        broker.close()
    assert round_.leader and round_.read > 4
    assert round_.delivered == 0
    # Only the events nobody subscribes to (user created, wallet opened) are marked; the
    # four deposits wait in the outbox for the broker.
    assert runtime.outbox_stats()[0] == 4 == round_.read - round_.published
