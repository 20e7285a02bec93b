"""How every state-changing command runs: authorise, replay or execute once, audit, commit.

Use cases describe only their own decision (a ``body`` returning a ``Change``); this module
gives them house rules 3 and 4 in one place:

1. the actor must be allowed the action (a denial is audited and raised as Forbidden);
2. the (actor, idempotency key) is claimed; if it was used before, the stored result is
   returned as is (same payload) or the reuse is refused (another payload);
3. otherwise the body runs in one unit of work, and its idempotency record, audit record
   and outbox events are written in that same transaction before commit;
4. a domain error rolls everything back, is audited as rejected in a transaction of its
   own, and is raised unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, Protocol, TypeVar

from attrs import frozen

from core.shared.actor import Actor
from core.shared.audit import AuditDraft, Outcome
from core.shared.authorization import Authorizer, Forbidden
from core.shared.errors import DomainError, ErrorCategory
from core.shared.events import DomainEvent
from core.shared.idempotency import fingerprint
from core.shared.ids import (
    AuditRecordId,
    CorrelationId,
    IdempotencyKey,
    idempotency_key,
    new_id,
    require_correlation_id,
)
from core.shared.time import Clock
from core.shared.unit_of_work import UnitOfWork

R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork)


class StateChangingCommand(Protocol):
    """The envelope every state-changing command carries."""

    @property
    def by(self) -> Actor: ...

    @property
    def idempotency_key(self) -> IdempotencyKey: ...

    @property
    def correlation_id(self) -> CorrelationId: ...


@frozen(kw_only=True)
class Change(Generic[R]):
    """What a command's body decided: its result, plus what the audit record says."""

    result: R
    target: str
    before: Mapping[str, object] = {}
    after: Mapping[str, object] = {}
    events: tuple[DomainEvent, ...] = ()
    # What a replay returns, when the first result holds a secret that must not be stored
    # (an API token is shown once). Defaults to ``result``.
    replayed_as: R | None = None


class CommandRunner(Generic[U]):
    """Runs state-changing commands under the house rules. Thread-safe: it holds only
    factories and pure collaborators."""

    def __init__(self, new_uow: Callable[[], U], authorizer: Authorizer, clock: Clock) -> None:
        self._new_uow = new_uow
        self._authorizer = authorizer
        self._clock = clock

    def run(
        self,
        command: StateChangingCommand,
        *,
        action: str,
        target: str,
        result_type: type[R],
        body: Callable[[U], Change[R]],
    ) -> R:
        """Run ``body`` once for this (actor, idempotency key).

        Raises:
            Forbidden: the actor may not take ``action`` (audited as denied).
            IdempotencyKeyReused: the key was used before for another payload (audited).
            DomainError: whatever the body raised (audited as rejected); nothing written.
        """
        # Entry points validate these already; embedders call the core directly.
        idempotency_key(command.idempotency_key)
        require_correlation_id(command.correlation_id)
        if not self._authorizer.allows(command.by, action):
            error = Forbidden(action)
            self._record_failure(command, action, target, Outcome.DENIED, error)
            raise error
        digest = fingerprint(action, command)
        scope = command.by.ref
        rejected: DomainError
        with self._new_uow() as uow:
            try:
                # Claim first: a concurrent request with the same key waits here for this
                # one to end, then replays its result instead of running the body again.
                prior = uow.idempotency.claim(
                    scope,
                    command.idempotency_key,
                    command=action,
                    fingerprint=digest,
                    at=self._clock.now(),
                    result_type=result_type,
                )
                if prior is not None:
                    return prior
                change = body(uow)
            except DomainError as error:
                if error.category is ErrorCategory.UNAVAILABLE:
                    raise  # infrastructure, not a refusal: nothing to audit; retry with the key
                rejected = error
            else:
                uow.idempotency.complete(scope, command.idempotency_key, _stored(change))
                uow.audit.append(
                    AuditDraft(
                        id=AuditRecordId(new_id("aud")),
                        at=self._clock.now(),
                        actor=scope,
                        action=action,
                        target=change.target,
                        outcome=Outcome.SUCCEEDED,
                        correlation_id=command.correlation_id,
                        before=change.before,
                        after=change.after,
                    )
                )
                uow.outbox.add(change.events)
                uow.commit()
                return change.result
        self._record_failure(command, action, target, Outcome.REJECTED, rejected)
        raise rejected

    def _record_failure(
        self, command: StateChangingCommand, action: str, target: str, outcome: Outcome, error: DomainError
    ) -> None:
        with self._new_uow() as uow:
            uow.audit.append(
                AuditDraft(
                    id=AuditRecordId(new_id("aud")),
                    at=self._clock.now(),
                    actor=command.by.ref,
                    action=action,
                    target=target,
                    outcome=outcome,
                    reason=error.code,
                    correlation_id=command.correlation_id,
                )
            )
            uow.commit()


def _stored(change: Change[R]) -> R:
    return change.result if change.replayed_as is None else change.replayed_as
