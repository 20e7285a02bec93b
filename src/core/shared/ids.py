"""Typed identifiers. Each is a distinct type for mypy; at run time a plain ``str``.

Generated ids carry a short prefix naming what they identify (``acc_…``, ``ent_…``) so a
support engineer can tell them apart in logs; the rest is 128 random bits.
"""

from __future__ import annotations

import re
import uuid
from typing import NewType

from core.shared.errors import InvalidInput

UserId = NewType("UserId", str)
AccountId = NewType("AccountId", str)
EntryId = NewType("EntryId", str)
TokenId = NewType("TokenId", str)
AuditRecordId = NewType("AuditRecordId", str)
EventId = NewType("EventId", str)
SnapshotId = NewType("SnapshotId", str)
IdempotencyKey = NewType("IdempotencyKey", str)
CorrelationId = NewType("CorrelationId", str)

_KEY = re.compile(r"^[A-Za-z0-9._:\-]{8,200}$")
_CORRELATION = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def idempotency_key(value: object) -> IdempotencyKey:
    """Validate a caller-supplied idempotency key: 8 to 200 characters of ``A-Za-z0-9._:-``.

    Eight is the floor so that accidental keys such as ``1`` are refused; a UUID fits."""
    if not isinstance(value, str) or not _KEY.match(value):
        raise InvalidInput(
            "idempotency_key", "must be 8 to 200 characters of letters, digits and . _ : - (a UUID fits)"
        )
    return IdempotencyKey(value)


def require_correlation_id(value: object) -> CorrelationId:
    """Validate a correlation id handed in by an embedder (entry points make their own)."""
    if not isinstance(value, str) or not _CORRELATION.match(value):
        raise InvalidInput("correlation_id", "1 to 128 characters of letters, digits and . _ : -")
    return CorrelationId(value)


def correlation_id(value: object | None) -> CorrelationId:
    """Accept a caller's correlation id if it is safe to log, otherwise make a new one."""
    if isinstance(value, str) and _CORRELATION.match(value):
        return CorrelationId(value)
    return CorrelationId(uuid.uuid4().hex)
