"""Event envelopes on the wire: small JSON documents (ids, names, integers, strings;
money as ``{"minor", "currency"}``), never pickles, never floats."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from core.shared.errors import InvalidInput
from core.shared.events import EventEnvelope
from core.shared.ids import EventId

QUEUE_PREFIX = "gigcore.events."
_NAMESPACE = uuid.UUID("6f1d1a52-5b1e-4c55-9d0f-2f0f8a4c9e11")


def queue_for(consumer: str) -> str:
    """Each consumer has its own queue, so a slow or failing one never holds up another."""
    return QUEUE_PREFIX + consumer


def message_id(consumer: str, event_id: str) -> str:
    """Deterministic per (event, consumer): a republished delivery carries the same id,
    which makes duplicates visible in logs and traces."""
    return str(uuid.uuid5(_NAMESPACE, f"{event_id}/{consumer}"))


def encode(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "seq": envelope.seq,
        "event_id": envelope.event_id,
        "name": envelope.name,
        "aggregate_id": envelope.aggregate_id,
        "occurred_at": envelope.occurred_at.isoformat(),
        "payload": dict(envelope.payload),
    }


def decode(document: object) -> EventEnvelope:
    """Raises InvalidInput for anything that is not an envelope this encoder wrote."""
    if not isinstance(document, dict):
        raise InvalidInput("envelope", "a JSON object")
    try:
        seq, event_id, name = document["seq"], document["event_id"], document["name"]
        aggregate_id, occurred_at, payload = document["aggregate_id"], document["occurred_at"], document["payload"]
    except KeyError as missing:
        raise InvalidInput("envelope", f"has no {missing.args[0]!r}") from None
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InvalidInput("envelope.seq", "a positive integer")
    if not all(isinstance(v, str) and v for v in (event_id, name, aggregate_id, occurred_at)):
        raise InvalidInput("envelope", "event_id, name, aggregate_id and occurred_at are non-empty strings")
    if not isinstance(payload, dict):
        raise InvalidInput("envelope.payload", "a JSON object")
    try:
        moment = datetime.fromisoformat(occurred_at)
    except ValueError:
        raise InvalidInput("envelope.occurred_at", "an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidInput("envelope.occurred_at", "an ISO 8601 time with an offset")
    return EventEnvelope(
        seq=seq, event_id=EventId(event_id), name=name, aggregate_id=aggregate_id, occurred_at=moment, payload=payload
    )
