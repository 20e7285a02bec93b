"""Column types that make values round-trip exactly on both SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

# SQLite turns only an ``INTEGER PRIMARY KEY`` into a rowid alias that numbers itself.
AutoBigInteger = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, the same aware UTC datetime out.

    PostgreSQL stores ``timestamptz`` and answers in the session's time zone; SQLite
    stores naive text. Both come back as ``tzinfo=UTC``, so ``isoformat()`` is identical
    to what was written (the audit hash covers it). Naive datetimes and other offsets
    are refused rather than guessed or converted.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime(timezone=False))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        offset = value.utcoffset()
        if offset is None:
            raise ValueError(f"naive datetime {value!r}: gigcore stores aware UTC datetimes only")
        if offset:
            # Converting would change isoformat(), and with it every audit hash over it.
            raise ValueError(f"datetime {value.isoformat()} is not in UTC: the Clock port tells UTC")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def dumps(value: object) -> str:
    """Compact JSON; values JSON has no type for are written as their ``str()``, as the
    audit hash does (``core.shared.audit.canonical``), so a stored document hashes the same."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class JsonText(TypeDecorator[Any]):
    """A JSON document stored as text on both databases: written and read verbatim, no
    reordering or number normalisation by the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
