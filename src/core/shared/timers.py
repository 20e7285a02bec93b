"""Durable timers: "do this at that time", stored in the same transaction as the change
that asks for it, fired later by whoever polls (the worker, the embedded scheduler, a
test's clock jump).

Firing is at least once; a handler makes its effect once by claiming the timer in its
own transaction (``Timers.claim``) and marking it fired there, under the idempotency key
``timer:<id>`` (see ``escrow.use_cases.fire_due_timers``). A timer whose subject moved on
is marked fired with the outcome ``obsolete``: it is never an error to retry forever.
A timer whose handler fails is postponed by ``FAILED_TIMER_RETRY`` (``postpone_failed``), so
the timers behind it still fire and it is tried again then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Protocol, Self, TypeVar

from attrs import field, frozen

from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.idempotency import IdempotencyKeyReused
from core.shared.ids import new_id

TimerPayload = Mapping[str, str | int]

_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")  # "<context>.<what>", as actions are named
OBSOLETE = "obsolete"  # the outcome of a timer whose subject moved on before it fired
# How long a timer whose handler failed steps aside: fixed (a backoff growing with the
# failures would need a counter stored with the timer), short enough that a passing
# failure costs little, long enough that a permanent one does not keep a poller busy.
FAILED_TIMER_RETRY = timedelta(minutes=5)


def _kind(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not _KIND.match(value) or len(value) > 64:
        raise InvalidInput("kind", "a dotted name such as 'escrow.auto_release' (at most 64 characters)")


def _aware(_inst: object, _attr: object, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("due_at", "an aware datetime")


def _payload(value: Mapping[str, str | int]) -> TimerPayload:
    for k, v in value.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, (str, int)):
            raise InvalidInput("payload", "maps names to strings or integers only")
    return MappingProxyType(dict(value))


@frozen(kw_only=True)
class Timer:
    """A request to run ``kind``'s handler at ``due_at`` with ``payload`` (ids, counters
    and amounts as primitives; never whole aggregates)."""

    id: str
    kind: str = field(validator=_kind)
    due_at: datetime = field(validator=_aware)
    payload: TimerPayload = field(factory=dict, converter=_payload, hash=False)

    @classmethod
    def new(cls, kind: str, due_at: datetime, payload: Mapping[str, str | int]) -> Timer:
        return cls(id=new_id("tmr"), kind=kind, due_at=due_at, payload=payload)

    def text(self, name: str) -> str:
        value = self.payload[name]
        if not isinstance(value, str):
            raise TypeError(f"timer {self.id}: payload {name!r} is not a string")
        return value

    def number(self, name: str) -> int:
        value = self.payload[name]
        if not isinstance(value, int):
            raise TypeError(f"timer {self.id}: payload {name!r} is not an integer")
        return value


class Timers(Protocol):
    """Durable timers inside one unit of work. Nothing scheduled is visible before
    commit, and a rollback unschedules it.

    Concurrency: ``due`` skips timers a concurrent transaction holds (PostgreSQL:
    ``FOR UPDATE SKIP LOCKED``), so workers polling at once take mostly disjoint batches;
    ``claim`` locks one timer until the transaction ends and waits for a holder, so two
    transactions firing the same timer run one after the other and the second sees it
    fired.
    """

    def schedule(self, timer: Timer) -> None:
        """Store a timer. Scheduling an id that exists already changes nothing."""
        ...

    def due(self, now: datetime, *, kinds: Collection[str], limit: int) -> list[Timer]:
        """Unfired timers of these kinds with ``due_at <= now``, oldest first (then by
        id), at most ``limit``, skipping those locked by another transaction."""
        ...

    def claim(self, timer_id: str) -> Timer | None:
        """Lock the timer for this transaction; None if it fired already or does not
        exist."""
        ...

    def mark_fired(self, timer_id: str, *, at: datetime, outcome: str) -> None:
        """Record that the claimed timer fired, with a short outcome (``released``,
        ``obsolete``…); it is never due again."""
        ...

    def postpone(self, timer_id: str, *, until: datetime) -> None:
        """Move an unfired timer's due time to ``until`` (an aware datetime): a failed
        timer steps aside so the ones behind it fire, and is tried again then. A fired or
        unknown timer: nothing. Waits for a transaction that holds the timer."""
        ...


class TimersUnitOfWork(Protocol):
    """The part of a context's unit of work ``postpone_failed`` needs."""

    @property
    def timers(self) -> Timers: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...


def postpone_failed(new_uow: Callable[[], TimersUnitOfWork], timer_id: str, *, now: datetime) -> None:
    """Postpone a timer whose handler failed by ``FAILED_TIMER_RETRY``, in its own unit of
    work, so a timer failing for good cannot keep the ones due after it from firing
    (pollers take the oldest first). If that fails too (the database is down), the timer
    stays due as it was, and is tried again at the next poll."""
    try:
        with new_uow() as uow:
            uow.timers.postpone(timer_id, until=now + FAILED_TIMER_RETRY)
            uow.commit()
    except DomainError:  # DependencyUnavailable, ConcurrentUpdate: left due
        pass


R = TypeVar("R")


def fire_each(
    due: Sequence[Timer],
    fire: Callable[[Timer], R],
    *,
    new_uow: Callable[[], TimersUnitOfWork],
    now: Callable[[], datetime],
) -> tuple[list[R], list[str]]:
    """Fire each due timer on its own (``fire`` runs its command); returns (the results,
    the ids of the timers that failed). A timer another poller fired meanwhile with another
    answer (IdempotencyKeyReused) is skipped; one whose handler fails — a domain error, or
    a bug such as a malformed payload — is reported and postponed (``postpone_failed``) so
    it never stalls the ones behind it. DependencyUnavailable stops the batch: nothing
    else would get through either."""
    fired: list[R] = []
    failed: list[str] = []
    for timer in due:
        try:
            fired.append(fire(timer))
        except IdempotencyKeyReused:
            continue
        except DomainError as error:
            if error.category is ErrorCategory.UNAVAILABLE and error.code == "dependency_unavailable":
                raise
            failed.append(timer.id)
            postpone_failed(new_uow, timer.id, now=now())
        except Exception:  # a bug in one timer must not stall the others
            failed.append(timer.id)
            postpone_failed(new_uow, timer.id, now=now())
    return fired, failed
