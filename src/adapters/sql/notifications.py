"""Notifications' ports over SQL: ``SqlNotifications``, ``SqlContractParties`` and
``SqlWalletOwners``, for ``SqlUnitOfWork`` to expose next to the other contexts'.

SQLAlchemy Core with statements built once per dialect (bound parameters only), as in
``unit_of_work``. ``add`` is ``INSERT … ON CONFLICT DO NOTHING``: the (event, recipient)
uniqueness makes a concurrent second insert wait for the first and then skip, so a
replay never duplicates. ``mark_read`` is one UPDATE that only touches unread rows, so
racing marks agree on the first read time.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Select, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import Executable

from adapters.sql import tables as t
from adapters.sql.errors import translated
from core.notifications.domain import Listed, Notification, NotificationId, NotificationNotFound, Subjects
from core.shared.ids import UserId

_WALLET = "wallet"  # the ledger's AccountKind.WALLET, as stored


class Transaction(Protocol):
    @property
    def connection(self) -> Connection: ...

    def require_writable(self, what: str) -> None: ...


class NotificationStatements:
    """Every statement of the notifications ports, built once per dialect."""

    def __init__(self, dialect: str) -> None:
        n = t.notifications
        written = {c.key: bindparam(c.key, type_=c.type) for c in n.columns if c.key != "seq"}
        base = postgresql.insert(n) if dialect == "postgresql" else sqlite.insert(n)
        self.insert = base.on_conflict_do_nothing().values(written).returning(n.c.seq)
        self.by_id = select(n).where(n.c.id == bindparam("id"))

        def page(*, before: bool, unread: bool) -> Select[Any]:
            query = select(n).where(n.c.recipient_id == bindparam("recipient_id"))
            if before:
                query = query.where(n.c.seq < bindparam("before_seq"))
            if unread:
                query = query.where(n.c.read_at.is_(None))
            return query.order_by(n.c.seq.desc()).limit(bindparam("limit"))

        self.pages = {(b, u): page(before=b, unread=u) for b in (False, True) for u in (False, True)}
        self.unread_count = select(func.count()).where(
            n.c.recipient_id == bindparam("recipient_id"), n.c.read_at.is_(None)
        )
        # An UPDATE's bind names may not be column names (SQLAlchemy reserves those).
        mark = (
            n.update()
            .where(n.c.recipient_id == bindparam("m_recipient_id"), n.c.read_at.is_(None))
            .values(read_at=bindparam("m_at", type_=n.c.read_at.type))
        )
        self.mark_all = mark
        self.mark_ids = mark.where(n.c.id.in_(bindparam("m_ids", expanding=True)))
        c, a = t.contracts, t.accounts
        self.parties = select(c.c.client_id, c.c.provider_id).where(c.c.id == bindparam("id"))
        self.wallet_owner = select(a.c.owner_id).where(a.c.id == bindparam("id"), a.c.kind == _WALLET)


@functools.cache
def notification_statements(dialect: str) -> NotificationStatements:
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"the SQL adapter supports PostgreSQL and SQLite, not {dialect}")
    return NotificationStatements(dialect)


def notification_row(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "recipient_id": notification.recipient_id,
        "kind": notification.kind,
        "text": notification.text,
        "contract_id": notification.subjects.contract_id,
        "milestone_id": notification.subjects.milestone_id,
        "payout_id": notification.subjects.payout_id,
        "event_id": notification.event_id,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
    }


def _notification_from(row: RowMapping) -> Notification:
    return Notification(
        id=NotificationId(row["id"]),
        recipient_id=UserId(row["recipient_id"]),
        kind=row["kind"],
        text=row["text"],
        subjects=Subjects(contract_id=row["contract_id"], milestone_id=row["milestone_id"], payout_id=row["payout_id"]),
        event_id=row["event_id"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


class _Repository:
    def __init__(self, tx: Transaction, statements: NotificationStatements) -> None:
        self._tx = tx
        self._s = statements

    def _all(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[RowMapping]:
        return self._tx.connection.execute(statement, params).mappings().all()

    def _first(self, statement: Executable, params: Mapping[str, Any]) -> RowMapping | None:
        return self._tx.connection.execute(statement, params).mappings().first()


class SqlNotifications(_Repository):
    """``Notifications``: one row each, unique per (event, recipient)."""

    @translated
    def add(self, notification: Notification) -> bool:
        self._tx.require_writable("notifications.add")
        return self._first(self._s.insert, notification_row(notification)) is not None

    @translated
    def get(self, notification_id: NotificationId) -> Notification:
        row = self._first(self._s.by_id, {"id": notification_id})
        if row is None:
            raise NotificationNotFound(notification_id)
        return _notification_from(row)

    @translated
    def page(self, recipient_id: str, *, before_seq: int | None, limit: int, unread_only: bool) -> list[Listed]:
        if limit <= 0:
            return []
        params: dict[str, Any] = {"recipient_id": recipient_id, "limit": limit}
        if before_seq is not None:
            params["before_seq"] = before_seq
        rows = self._all(self._s.pages[(before_seq is not None, unread_only)], params)
        return [Listed(seq=int(row["seq"]), notification=_notification_from(row)) for row in rows]

    @translated
    def unread_count(self, recipient_id: str) -> int:
        return int(self._tx.connection.execute(self._s.unread_count, {"recipient_id": recipient_id}).scalar_one())

    @translated
    def mark_read(self, recipient_id: str, *, ids: Collection[NotificationId] | None, at: datetime) -> int:
        self._tx.require_writable("notifications.mark_read")
        params: dict[str, Any] = {"m_recipient_id": recipient_id, "m_at": at}
        if ids is None:
            result = self._tx.connection.execute(self._s.mark_all, params)
        else:
            wanted = sorted(set(ids))
            if not wanted:
                return 0
            result = self._tx.connection.execute(self._s.mark_ids, {**params, "m_ids": wanted})
        return int(result.rowcount)


class SqlContractParties(_Repository):
    """``ContractParties``: the client and provider columns of ``contracts``."""

    @translated
    def parties(self, contract_id: str) -> tuple[str, str] | None:
        row = self._first(self._s.parties, {"id": contract_id})
        return None if row is None else (row["client_id"], row["provider_id"])


class SqlWalletOwners(_Repository):
    """``WalletOwners``: the owner of a member wallet in ``accounts``."""

    @translated
    def owner(self, wallet_id: str) -> str | None:
        row = self._first(self._s.wallet_owner, {"id": wallet_id})
        return None if row is None else str(row["owner_id"])
