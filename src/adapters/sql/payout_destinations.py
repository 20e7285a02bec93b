"""Payout destinations over SQL (``PayoutDestinations``), for ``SqlUnitOfWork`` to expose.

``put`` reads the current row under ``SELECT … FOR UPDATE`` (PostgreSQL; SQLite's write
lock is held already), then upserts (``INSERT … ON CONFLICT (payee_id, provider) DO
UPDATE``): two writers for the same (payee, provider) never fail on the primary key, the
second waits for the first and replaces its value.

``pin`` copies the payee's current destination into ``payout_destination_pins`` in one
statement (``INSERT … SELECT … ON CONFLICT (payout_id) DO NOTHING``), then reads the pin
back: a second pinner of the same payout waits for the first on the primary key, inserts
nothing and reads the first one's pin (PostgreSQL's READ COMMITTED sees it; SQLite's
writers are serialised by BEGIN IMMEDIATE).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from adapters.sql import tables as t
from adapters.sql.errors import translated
from core.payments.destinations import PayoutDestination, PinnedPayoutDestination
from core.shared.ids import UserId


class Transaction(Protocol):
    @property
    def connection(self) -> Connection: ...

    def require_writable(self, what: str) -> None: ...


class DestinationStatements:
    """Every statement of ``SqlPayoutDestinations``, built once per dialect."""

    def __init__(self, dialect: str) -> None:
        d = t.payout_destinations
        written = {c.key: bindparam(c.key, type_=c.type) for c in d.columns}
        base = postgresql.insert(d) if dialect == "postgresql" else sqlite.insert(d)
        inserting = base.values(written)
        self.upsert = inserting.on_conflict_do_update(
            index_elements=[d.c.payee_id, d.c.provider],
            set_={"value": inserting.excluded.value, "updated_at": inserting.excluded.updated_at},
        )
        one = select(d).where(d.c.payee_id == bindparam("payee_id"), d.c.provider == bindparam("provider"))
        self.get = one
        self.lock = one.with_for_update()
        self.of_payee = select(d).where(d.c.payee_id == bindparam("payee_id")).order_by(d.c.provider)
        p = t.payout_destination_pins
        pins = postgresql.insert(p) if dialect == "postgresql" else sqlite.insert(p)
        current = select(
            bindparam("payout_id", type_=p.c.payout_id.type),
            d.c.payee_id,
            d.c.provider,
            d.c.value,
            bindparam("pinned_at", type_=p.c.pinned_at.type),
        ).where(d.c.payee_id == bindparam("payee_id"), d.c.provider == bindparam("provider"))
        self.pin = pins.from_select(
            [p.c.payout_id, p.c.payee_id, p.c.provider, p.c.value, p.c.pinned_at], current
        ).on_conflict_do_nothing(index_elements=[p.c.payout_id])
        self.pinned = select(p).where(p.c.payout_id == bindparam("payout_id"))


@functools.cache
def destination_statements(dialect: str) -> DestinationStatements:
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"the SQL adapter supports PostgreSQL and SQLite, not {dialect}")
    return DestinationStatements(dialect)


def _pin_from(row: RowMapping) -> PinnedPayoutDestination:
    return PinnedPayoutDestination(
        payout_id=row["payout_id"],
        payee_id=UserId(row["payee_id"]),
        provider=row["provider"],
        value=row["value"],
        pinned_at=row["pinned_at"],
    )


def _from(row: RowMapping) -> PayoutDestination:
    return PayoutDestination(
        payee_id=UserId(row["payee_id"]),
        provider=row["provider"],
        value=row["value"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlPayoutDestinations:
    def __init__(self, tx: Transaction, statements: DestinationStatements) -> None:
        self._tx = tx
        self._s = statements

    @translated
    def put(self, destination: PayoutDestination) -> PayoutDestination | None:
        self._tx.require_writable("payout_destinations.put")
        key: dict[str, Any] = {"payee_id": destination.payee_id, "provider": destination.provider}
        previous = self._tx.connection.execute(self._s.lock, key).mappings().first()
        self._tx.connection.execute(
            self._s.upsert,
            {
                **key,
                "value": destination.value,
                "created_at": destination.created_at,
                "updated_at": destination.updated_at,
            },
        )
        return None if previous is None else _from(previous)

    @translated
    def get(self, payee_id: str, provider: str) -> PayoutDestination | None:
        row = self._tx.connection.execute(self._s.get, {"payee_id": payee_id, "provider": provider}).mappings().first()
        return None if row is None else _from(row)

    @translated
    def of_payee(self, payee_id: str) -> list[PayoutDestination]:
        rows = self._tx.connection.execute(self._s.of_payee, {"payee_id": payee_id}).mappings().all()
        return [_from(row) for row in rows]

    @translated
    def pin(self, payout_id: str, payee_id: str, provider: str, *, at: datetime) -> PinnedPayoutDestination | None:
        self._tx.require_writable("payout_destinations.pin")
        self._tx.connection.execute(
            self._s.pin, {"payout_id": payout_id, "payee_id": payee_id, "provider": provider, "pinned_at": at}
        )
        return self.pinned(payout_id)

    @translated
    def pinned(self, payout_id: str) -> PinnedPayoutDestination | None:
        row = self._tx.connection.execute(self._s.pinned, {"payout_id": payout_id}).mappings().first()
        return None if row is None else _pin_from(row)
