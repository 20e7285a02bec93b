"""Idempotency: the same key from the same actor runs a command once.

A command claims its key first, then stores its result with a fingerprint of its
payload, in the same transaction as its effect. A replay with the same payload returns
that result without running again; a replay with another payload is a conflict. Keys for
money movements never expire. A command a rule refused stores nothing, so the key can be
used again once the cause is fixed. See architecture/decisions/0003-idempotency.md.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

import attrs
from attrs import frozen

from core.shared.errors import DomainError, ErrorCategory
from core.shared.ids import IdempotencyKey

R = TypeVar("R")

# Fields that identify the request, not its payload: they never enter the fingerprint.
_ENVELOPE = frozenset({"by", "idempotency_key", "correlation_id", "dry_run"})


@frozen
class IdempotencyKeyReused(DomainError):
    code: ClassVar[str] = "idempotency_key_reused"
    title: ClassVar[str] = "This idempotency key was already used for a different request"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    key: str
    first_command: str

    @property
    def detail(self) -> str:
        return (
            f"idempotency key {self.key!r} was first used for a different {self.first_command} "
            "request; use a new key for a new request"
        )


class IdempotencyStore(Protocol):
    """Results of state-changing commands, keyed by (actor scope, key).

    ``claim`` runs first in a command's transaction: it either claims the key for this
    command (returns None; the caller runs the command and calls ``complete`` before
    committing) or returns the result the key's first use stored (a replay). A key first
    used for another command or payload raises IdempotencyKeyReused, decided on the
    stored command and fingerprint before any stored result is loaded. A claim racing an
    open transaction's claim of the same key waits for that transaction to end (PostgreSQL
    waits on the key's unique index; SQLite and memory serialise transactions), so two
    concurrent requests with one key run once. A rollback frees the key. A key claimed but
    not completed in the same transaction raises ConcurrentUpdate. Results are attrs
    classes; adapters must round-trip them exactly.
    """

    def claim(
        self,
        scope: str,
        key: IdempotencyKey,
        *,
        command: str,
        fingerprint: str,
        at: datetime,
        result_type: type[R],
    ) -> R | None: ...

    def complete(self, scope: str, key: IdempotencyKey, result: object) -> None: ...


def _plain(value: Any) -> Any:
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def fingerprint(command_name: str, command: object) -> str:
    """A stable digest of the command's payload (everything but its envelope)."""
    cls = type(command)
    if not attrs.has(cls):
        raise TypeError("commands are attrs classes")
    payload = {f.name: _plain(getattr(command, f.name)) for f in attrs.fields(cls) if f.name not in _ENVELOPE}
    text = json.dumps([command_name, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
