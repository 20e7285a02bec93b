"""Consumers for tests, drills and benchmarks, loaded by the worker through
``GIGCORE_EXTRA_CONSUMERS`` (as an embedding service would load its own)."""

from __future__ import annotations

from typing import Any

from core.shared.audit import AuditDraft, Outcome
from core.shared.events import EventEnvelope
from core.shared.ids import AuditRecordId, CorrelationId, new_id

DRILL_ACTION = "drill.event_handled"


class DepositAuditor:
    """Appends one audit record per deposit event: an effect with no unique constraint
    behind it, so a second application of the same event would show as a second record."""

    name = "drill_auditor"
    events = frozenset({"ledger.funds_deposited"})

    def handle(self, envelope: EventEnvelope, uow: Any) -> None:
        uow.audit.append(
            AuditDraft(
                id=AuditRecordId(new_id("aud")),
                at=envelope.occurred_at,
                actor="system:drill",
                action=DRILL_ACTION,
                target=envelope.event_id,
                outcome=Outcome.SUCCEEDED,
                correlation_id=CorrelationId(envelope.event_id.replace("_", "")[:64]),
            )
        )


class NoOp:
    """Does nothing: the inbox row its delivery writes is the whole effect (benchmarks)."""

    name = "noop"
    events = frozenset({"ledger.funds_deposited"})

    def handle(self, envelope: EventEnvelope, uow: Any) -> None:
        return None


def drill_auditor() -> DepositAuditor:
    return DepositAuditor()


def noop() -> NoOp:
    return NoOp()
