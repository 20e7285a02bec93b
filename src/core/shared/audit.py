"""The audit trail: who did what to which target, with what outcome, chained by hashes.

Every state change appends one record in the same transaction as the change. Records are
spread over a fixed number of chains (streams) so that concurrent transactions do not all
queue on one chain head; each chain is linked by ``hash = sha256(prev_hash | canonical
record)`` and numbered without gaps, so an edited or deleted record breaks its chain.
See architecture/decisions/0006-audit-hash-chains.md.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from attrs import frozen

from core.shared.ids import AuditRecordId, CorrelationId

GENESIS_HASH = "0" * 64


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    REJECTED = "rejected"  # authorised, but a rule refused it; nothing changed
    DENIED = "denied"  # the actor was not allowed to try


@frozen(kw_only=True)
class AuditDraft:
    """What a use case knows about one action; the trail adds chain, sequence and hashes."""

    id: AuditRecordId
    at: datetime
    actor: str
    action: str
    target: str
    outcome: Outcome
    correlation_id: CorrelationId
    reason: str = ""
    before: Mapping[str, object] = {}
    after: Mapping[str, object] = {}


@frozen(kw_only=True)
class AuditRecord:
    draft: AuditDraft
    chain: int
    seq: int
    prev_hash: str
    hash: str


def canonical(draft: AuditDraft, *, chain: int, seq: int) -> str:
    """The exact text that is hashed. Changing it breaks every stored chain: don't."""
    body = {
        "id": draft.id,
        "chain": chain,
        "seq": seq,
        "at": draft.at.isoformat(),
        "actor": draft.actor,
        "action": draft.action,
        "target": draft.target,
        "outcome": draft.outcome.value,
        "reason": draft.reason,
        "correlation_id": draft.correlation_id,
        "before": dict(draft.before),
        "after": dict(draft.after),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def chain_hash(prev_hash: str, draft: AuditDraft, *, chain: int, seq: int) -> str:
    text = prev_hash + "|" + canonical(draft, chain=chain, seq=seq)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def seal(draft: AuditDraft, *, chain: int, seq: int, prev_hash: str) -> AuditRecord:
    return AuditRecord(
        draft=draft,
        chain=chain,
        seq=seq,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, draft, chain=chain, seq=seq),
    )


def chain_for(record_id: str, chains: int) -> int:
    """Spread records over chains by their (random) id, so concurrent writers rarely meet."""
    return int(hashlib.sha256(record_id.encode()).hexdigest()[:8], 16) % chains


class AuditTrail(Protocol):
    """Appends records inside the current unit of work.

    ``append`` locks the head of the record's chain until the transaction ends, so it
    should be the last write of a use case. Nothing is visible until commit; a rollback
    leaves no gap in any chain.
    """

    def append(self, draft: AuditDraft) -> AuditRecord: ...
