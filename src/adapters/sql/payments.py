"""Payments' ports over SQL: ``SqlPayments``, ``SqlProviderEventInbox`` and
``SqlPayoutsMade`` (escrow's ``payouts`` rows, read for reconciliation) for
``SqlUnitOfWork`` to expose next to the other contexts', and ``SqlRoutingState``, the
circuit breakers every process shares (outside any unit of work).

SQLAlchemy Core with statements built once per dialect (bound parameters only, rows
passed at execute time), as in ``unit_of_work``; rows are mapped to the domain explicitly
below.

Concurrency. A payment and its refunds change together, under the payment's version:
``save`` is an UPDATE guarded by the version it was read at (0 rows: ConcurrentUpdate),
then an upsert of the refunds that changed since they were read. ``lock`` takes
``SELECT … FOR UPDATE`` on the payment row (PostgreSQL) and only then reads the refunds,
so they are read after the lock was granted (READ COMMITTED); on SQLite the write lock
from ``BEGIN IMMEDIATE`` is held already, so one joined SELECT serves ``get`` and ``lock``.
The inbox's ``add`` is ``INSERT … ON CONFLICT DO NOTHING RETURNING``: of two transactions
adding the same event, the second waits for the first (the primary key) and then finds
it there. ``SqlRoutingState.update`` reads, and writes only when the state changes, in
its own short transaction under the breaker row's lock.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine, Select, Table, and_, bindparam, func, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import Executable

from adapters.sql import tables as t
from adapters.sql.engine import READ_ONLY
from adapters.sql.errors import translate, translated
from core.escrow.domain import PayoutStatus
from core.payments.domain import (
    BreakerState,
    ClientAction,
    EscrowTarget,
    OurPayout,
    Payment,
    PaymentId,
    PaymentMethod,
    PaymentNotFound,
    PaymentPurpose,
    PaymentStatus,
    ProviderEvent,
    ProviderEventKind,
    Refund,
    RefundId,
    RefundStatus,
)
from core.payments.ports import StoredProviderEvent
from core.shared.errors import ConcurrentUpdate
from core.shared.ids import EntryId
from core.shared.money import Currency, Money


class Transaction(Protocol):
    """What the repositories need from ``SqlUnitOfWork``: the open connection, and a check
    that the unit of work may write."""

    @property
    def connection(self) -> Connection: ...

    def require_writable(self, what: str) -> None: ...


# --- statements -----------------------------------------------------------------------


def _binds(table: Table, prefix: str = "", *, skip: Collection[str] = ()) -> dict[str, Any]:
    """``column -> bindparam(prefix + column)``, each typed as its column. (An UPDATE's
    bind names may not be column names: SQLAlchemy reserves those.)"""
    return {
        c.key: bindparam(prefix + c.key, type_=c.type)
        for c in table.columns
        if c.key not in skip and c.server_default is None
    }


def _labelled(table: Table, prefix: str) -> list[Any]:
    return [col.label(prefix + col.key) for col in table.columns]


class PaymentStatements:
    """Every statement of the payments ports, built once per dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.locks_rows = dialect == "postgresql"
        p, r, e, b = t.payments, t.payment_refunds, t.provider_events, t.provider_breakers

        # payments and their refunds
        self.insert_payment = (
            self._insert(p).on_conflict_do_nothing(index_elements=[p.c.id]).values(_binds(p)).returning(p.c.id)
        )
        joined = (
            select(*_labelled(p, "p_"), *_labelled(r, "r_"))
            .join_from(p, r, r.c.payment_id == p.c.id, isouter=True)
            .order_by(r.c.position)
        )
        self.payment_with_refunds = joined.where(p.c.id == bindparam("id"))
        self.payment_by_reference = joined.where(
            p.c.provider == bindparam("provider"),
            p.c.provider_reference == bindparam("reference"),
            p.c.provider_reference.is_not(None),  # the unique index's predicate, so it is used
        )
        self.payment_by_capture = joined.where(
            p.c.provider == bindparam("provider"),
            p.c.provider_capture_reference == bindparam("reference"),
            p.c.provider_capture_reference.is_not(None),  # the unique index's predicate
        )
        self.lock_payment = select(*_labelled(p, "p_")).where(p.c.id == bindparam("id")).with_for_update()
        self.refunds_of = select(*_labelled(r, "r_")).where(r.c.payment_id == bindparam("id")).order_by(r.c.position)
        self.refunds_of_many = (
            select(*_labelled(r, "r_"))
            .where(r.c.payment_id.in_(bindparam("ids", expanding=True)))
            .order_by(r.c.payment_id, r.c.position)
        )
        self.save_payment = (
            p.update()
            .where(p.c.id == bindparam("p_id"), p.c.version == bindparam("p_version"))
            .values({**_binds(p, "p_", skip=("id", "version")), "version": p.c.version + 1})
        )
        upsert = self._insert(r).values(_binds(r))
        self.upsert_refund = upsert.on_conflict_do_update(
            index_elements=[r.c.payment_id, r.c.id],
            set_={c.key: upsert.excluded[c.key] for c in r.columns if c.key not in ("payment_id", "id")},
        )
        start = bindparam("start", type_=p.c.captured_at.type)
        end = bindparam("end", type_=p.c.captured_at.type)
        refunded_in = (
            select(r.c.payment_id)
            .where(r.c.requested_at >= bindparam("start", type_=r.c.requested_at.type))
            .where(r.c.requested_at < bindparam("end", type_=r.c.requested_at.type))
        )
        of_provider = p.c.provider == bindparam("provider")
        self.captured_between = (
            select(*_labelled(p, "p_"))
            .where(
                of_provider,
                or_(and_(p.c.captured_at >= start, p.c.captured_at < end), p.c.id.in_(refunded_in.scalar_subquery())),
            )
            .order_by(p.c.id)
        )
        # escrow's payouts, as reconciliation reads them (PayoutsMade); a period is a day
        # or a few, so a scan of one gateway's paid payouts is bounded by the period.
        po = t.payouts
        self.payouts_paid_through = (
            select(po.c.id, po.c.reference, po.c.amount_minor, po.c.currency, po.c.settled_at)
            .where(
                po.c.gateway == bindparam("provider"),
                po.c.status == bindparam("status"),
                po.c.reference.is_not(None),
                po.c.settled_at >= bindparam("start", type_=po.c.settled_at.type),
                po.c.settled_at < bindparam("end", type_=po.c.settled_at.type),
            )
            .order_by(po.c.id)
        )
        self.in_status = (
            select(*_labelled(p, "p_"))
            .where(p.c.status.in_(bindparam("statuses", expanding=True)))
            .order_by(p.c.created_at, p.c.id)
            .limit(bindparam("limit"))
        )

        # the provider event inbox
        self.insert_event = (
            self._insert(e)
            .on_conflict_do_nothing(index_elements=[e.c.provider, e.c.provider_event_id])
            .values(_binds(e))
            .returning(e.c.provider)
        )
        self.event_by_key = select(e).where(
            e.c.provider == bindparam("provider"), e.c.provider_event_id == bindparam("provider_event_id")
        )
        self.mark_applied = (
            e.update()
            .where(e.c.provider == bindparam("m_provider"), e.c.provider_event_id == bindparam("m_event_id"))
            .values(applied_at=bindparam("m_at", type_=e.c.applied_at.type), outcome=bindparam("m_outcome"))
        )
        self.unapplied_for = (
            select(e)
            .where(
                e.c.provider == bindparam("provider"),
                e.c.provider_reference == bindparam("reference"),
                e.c.applied_at.is_(None),  # the partial index's predicate, verbatim
            )
            .order_by(e.c.received_at, e.c.provider_event_id)
        )
        self.unapplied_for_capture = (
            select(e)
            .where(
                e.c.provider == bindparam("provider"),
                e.c.capture_reference == bindparam("reference"),
                e.c.applied_at.is_(None),  # the partial index on (provider, …) narrows it to the few waiting
            )
            .order_by(e.c.received_at, e.c.provider_event_id)
        )

        # circuit breakers
        self.breaker = select(b.c.consecutive_failures, b.c.opened_at).where(b.c.provider == bindparam("provider"))
        self.lock_breaker = self.breaker.with_for_update() if self.locks_rows else self.breaker
        self.create_breaker = (
            self._insert(b)
            .on_conflict_do_nothing(index_elements=[b.c.provider])
            .values(provider=bindparam("provider"), consecutive_failures=0, opened_at=None)
        )
        self.save_breaker = (
            b.update()
            .where(b.c.provider == bindparam("b_provider"))
            .values(
                consecutive_failures=bindparam("b_failures"),
                opened_at=bindparam("b_opened_at", type_=b.c.opened_at.type),
                changed_at=func.current_timestamp(),
            )
        )

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self.locks_rows else sqlite.insert(table)


@functools.cache
def payment_statements(dialect: str) -> PaymentStatements:
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"the SQL adapter supports PostgreSQL and SQLite, not {dialect}")
    return PaymentStatements(dialect)


# --- rows <-> domain ------------------------------------------------------------------


def payment_row(payment: Payment) -> dict[str, Any]:
    escrow, action = payment.escrow, payment.client_action
    return {
        "id": payment.id,
        "payer_id": payment.payer_id,
        "purpose": payment.purpose.value,
        "currency": payment.amount.currency.code,
        "amount_minor": payment.amount.minor,
        "method": payment.method.value,
        "country": payment.country,
        "status": payment.status.value,
        "created_at": payment.created_at,
        "escrow_contract_id": None if escrow is None else escrow.contract_id,
        "escrow_milestone_id": None if escrow is None else escrow.milestone_id,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        "provider_capture_reference": payment.capture_reference,
        "attempted": list(payment.attempted),
        "client_action": None if action is None else {"kind": action.kind, "url": action.url, "data": action.data},
        "failure_reason": payment.failure_reason,
        "captured_at": payment.captured_at,
        "captured_currency": None if payment.captured is None else payment.captured.currency.code,
        "captured_minor": None if payment.captured is None else payment.captured.minor,
        "capture_entry_id": payment.capture_entry_id,
        "corrected_minor": None if payment.corrected is None else payment.corrected.minor,
        "correction_entry_id": payment.correction_entry_id,
        "correction_unfunded": payment.correction_unfunded,
        "unknown_since": payment.unknown_since,
        "hold_deadline": payment.hold_deadline,
        "updated_at": payment.updated_at,
        "version": payment.version,
    }


def refund_row(payment_id: str, position: int, refund: Refund) -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "id": refund.id,
        "position": position,
        "currency": refund.amount.currency.code,
        "amount_minor": refund.amount.minor,
        "status": refund.status.value,
        "requested_by": refund.requested_by,
        "requested_at": refund.requested_at,
        "provider_reference": refund.provider_reference,
        "reason": refund.reason,
        "entry_id": refund.entry_id,
        "reversal_entry_id": refund.reversal_entry_id,
        "unfunded": refund.unfunded,
        "exceeds_credited": refund.exceeds_credited,
        "maybe_sent_at": refund.maybe_sent_at,
    }


def _refund_from(row: RowMapping) -> Refund:
    entry, reversal = row["r_entry_id"], row["r_reversal_entry_id"]
    return Refund(
        id=RefundId(row["r_id"]),
        amount=Money(int(row["r_amount_minor"]), Currency(row["r_currency"])),
        status=RefundStatus(row["r_status"]),
        requested_by=row["r_requested_by"],
        requested_at=row["r_requested_at"],
        provider_reference=row["r_provider_reference"],
        reason=row["r_reason"],
        entry_id=None if entry is None else EntryId(entry),
        reversal_entry_id=None if reversal is None else EntryId(reversal),
        unfunded=bool(row["r_unfunded"]),
        exceeds_credited=bool(row["r_exceeds_credited"]),
        maybe_sent_at=row["r_maybe_sent_at"],
    )


def _payment_from(head: RowMapping, refunds: list[Refund]) -> Payment:
    contract_id, action, entry = head["p_escrow_contract_id"], head["p_client_action"], head["p_capture_entry_id"]
    captured = head["p_captured_minor"]
    corrected, correction = head["p_corrected_minor"], head["p_correction_entry_id"]
    return Payment(
        id=PaymentId(head["p_id"]),
        payer_id=head["p_payer_id"],
        purpose=PaymentPurpose(head["p_purpose"]),
        amount=Money(int(head["p_amount_minor"]), Currency(head["p_currency"])),
        method=PaymentMethod(head["p_method"]),
        country=head["p_country"],
        status=PaymentStatus(head["p_status"]),
        created_at=head["p_created_at"],
        escrow=None
        if contract_id is None
        else EscrowTarget(contract_id=contract_id, milestone_id=head["p_escrow_milestone_id"]),
        provider=head["p_provider"],
        provider_reference=head["p_provider_reference"],
        capture_reference=head["p_provider_capture_reference"],
        attempted=tuple(head["p_attempted"]),
        client_action=None
        if action is None
        else ClientAction(kind=action["kind"], url=action.get("url"), data=action.get("data") or {}),
        failure_reason=head["p_failure_reason"],
        captured_at=head["p_captured_at"],
        captured=None if captured is None else Money(int(captured), Currency(head["p_captured_currency"])),
        capture_entry_id=None if entry is None else EntryId(entry),
        corrected=None if corrected is None else Money(int(corrected), Currency(head["p_currency"])),
        correction_entry_id=None if correction is None else EntryId(correction),
        correction_unfunded=bool(head["p_correction_unfunded"]),
        refunds=refunds,
        unknown_since=head["p_unknown_since"],
        hold_deadline=head["p_hold_deadline"],
        updated_at=head["p_updated_at"],
        version=int(head["p_version"]),
    )


def event_row(event: ProviderEvent, received_at: datetime) -> dict[str, Any]:
    amount = event.amount
    return {
        "provider": event.provider,
        "provider_event_id": event.provider_event_id,
        "kind": event.kind.value,
        "provider_reference": event.provider_reference,
        "occurred_at": event.occurred_at,
        "payment_id": event.payment_id,
        "currency": None if amount is None else amount.currency.code,
        "amount_minor": None if amount is None else amount.minor,
        "refund_reference": event.refund_reference,
        "refund_id": event.refund_id,
        "reason": event.reason,
        "capture_reference": event.capture_reference,
        "received_at": received_at,
        "applied_at": None,
        "outcome": None,
    }


def _stored_event_from(row: RowMapping) -> StoredProviderEvent:
    payment_id, refund_id, minor = row["payment_id"], row["refund_id"], row["amount_minor"]
    event = ProviderEvent(
        provider=row["provider"],
        provider_event_id=row["provider_event_id"],
        kind=ProviderEventKind(row["kind"]),
        provider_reference=row["provider_reference"],
        occurred_at=row["occurred_at"],
        payment_id=None if payment_id is None else PaymentId(payment_id),
        amount=None if minor is None else Money(int(minor), Currency(row["currency"])),
        refund_reference=row["refund_reference"],
        refund_id=None if refund_id is None else RefundId(refund_id),
        reason=row["reason"],
        capture_reference=row["capture_reference"],
    )
    return StoredProviderEvent(
        event=event, received_at=row["received_at"], applied_at=row["applied_at"], outcome=row["outcome"]
    )


def _prefixed(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + key: value for key, value in row.items()}


# --- repositories ---------------------------------------------------------------------


class _Repository:
    def __init__(self, tx: Transaction, statements: PaymentStatements) -> None:
        self._tx = tx
        self._s = statements

    def _all(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[RowMapping]:
        return self._tx.connection.execute(statement, params).mappings().all()

    def _first(self, statement: Executable, params: Mapping[str, Any]) -> RowMapping | None:
        return self._tx.connection.execute(statement, params).mappings().first()

    def _writing(self, what: str) -> Connection:
        self._tx.require_writable(what)
        return self._tx.connection


class SqlPayments(_Repository):
    """``Payments``: a payment row and its refund rows, saved under one version."""

    def __init__(self, tx: Transaction, statements: PaymentStatements) -> None:
        super().__init__(tx, statements)
        # The refund rows as last read or written, by payment id, with the payment version
        # they belong to: ``save`` writes only the refunds that differ (every refund write
        # bumps the payment's version, so rows seen at the matched version are current).
        self._seen: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}

    @translated
    def add(self, payment: Payment) -> None:
        connection = self._writing("payments.add")
        if self._first(self._s.insert_payment, payment_row(payment)) is None:
            raise ValueError(f"payment {payment.id} exists already")
        rows = self._refund_rows(payment)
        if rows:
            connection.execute(self._s.upsert_refund, rows[0] if len(rows) == 1 else rows)
        self._remember(payment.id, payment.version, rows)

    @translated
    def get(self, payment_id: PaymentId) -> Payment:
        return self._joined(payment_id)

    @translated
    def lock(self, payment_id: PaymentId) -> Payment:
        self._writing("payments.lock")
        if not self._s.locks_rows:
            return self._joined(payment_id)  # the write lock (BEGIN IMMEDIATE) is held already
        head = self._first(self._s.lock_payment, {"id": payment_id})
        if head is None:
            raise PaymentNotFound(payment_id)
        return self._payment(head, self._all(self._s.refunds_of, {"id": payment_id}))

    @translated
    def save(self, payment: Payment) -> None:
        connection = self._writing("payments.save")
        if connection.execute(self._s.save_payment, _prefixed(payment_row(payment), "p_")).rowcount != 1:
            raise ConcurrentUpdate(f"payment {payment.id}")
        rows = self._refund_rows(payment)
        version, seen = self._seen.get(payment.id, (None, {}))
        changed = [row for row in rows if version != payment.version or seen.get(row["id"]) != row]
        if changed:
            connection.execute(self._s.upsert_refund, changed[0] if len(changed) == 1 else changed)
        payment.version += 1
        self._remember(payment.id, payment.version, rows)

    @translated
    def by_provider_reference(self, provider: str, reference: str) -> Payment | None:
        rows = self._all(self._s.payment_by_reference, {"provider": provider, "reference": reference})
        return None if not rows else self._payment(rows[0], [row for row in rows if row["r_id"] is not None])

    @translated
    def by_capture_reference(self, provider: str, reference: str) -> Payment | None:
        rows = self._all(self._s.payment_by_capture, {"provider": provider, "reference": reference})
        return None if not rows else self._payment(rows[0], [row for row in rows if row["r_id"] is not None])

    @translated
    def captured_between(self, provider: str, start: datetime, end: datetime) -> list[Payment]:
        return self._many(self._all(self._s.captured_between, {"provider": provider, "start": start, "end": end}))

    @translated
    def in_status(self, statuses: Collection[PaymentStatus], *, limit: int) -> list[Payment]:
        wanted = sorted({s.value for s in statuses})
        if not wanted or limit <= 0:
            return []
        return self._many(self._all(self._s.in_status, {"statuses": wanted, "limit": limit}))

    def _joined(self, payment_id: PaymentId) -> Payment:
        rows = self._all(self._s.payment_with_refunds, {"id": payment_id})
        if not rows:
            raise PaymentNotFound(payment_id)
        return self._payment(rows[0], [row for row in rows if row["r_id"] is not None])

    def _many(self, heads: Sequence[RowMapping]) -> list[Payment]:
        if not heads:
            return []
        refunds: dict[str, list[RowMapping]] = {}
        for row in self._all(self._s.refunds_of_many, {"ids": [head["p_id"] for head in heads]}):
            refunds.setdefault(row["r_payment_id"], []).append(row)
        return [self._payment(head, refunds.get(head["p_id"], [])) for head in heads]

    def _payment(self, head: RowMapping, refund_rows: Sequence[RowMapping]) -> Payment:
        payment = _payment_from(head, [_refund_from(row) for row in refund_rows])
        self._remember(payment.id, payment.version, self._refund_rows(payment))
        return payment

    @staticmethod
    def _refund_rows(payment: Payment) -> list[dict[str, Any]]:
        return [refund_row(payment.id, position, refund) for position, refund in enumerate(payment.refunds)]

    def _remember(self, payment_id: str, version: int, rows: list[dict[str, Any]]) -> None:
        self._seen[payment_id] = (version, {row["id"]: row for row in rows})


class SqlProviderEventInbox(_Repository):
    """``ProviderEventInbox``: one row per (provider, provider event id), first copy kept."""

    @translated
    def add(self, event: ProviderEvent, *, received_at: datetime) -> bool:
        self._writing("provider_events.add")
        return self._first(self._s.insert_event, event_row(event, received_at)) is not None

    @translated
    def get(self, provider: str, provider_event_id: str) -> StoredProviderEvent | None:
        row = self._first(self._s.event_by_key, {"provider": provider, "provider_event_id": provider_event_id})
        return None if row is None else _stored_event_from(row)

    @translated
    def mark_applied(self, provider: str, provider_event_id: str, *, at: datetime, outcome: str) -> None:
        params = {"m_provider": provider, "m_event_id": provider_event_id, "m_at": at, "m_outcome": outcome}
        if self._writing("provider_events.mark_applied").execute(self._s.mark_applied, params).rowcount != 1:
            raise KeyError(f"no provider event {provider}/{provider_event_id}")

    @translated
    def unapplied_for(self, provider: str, provider_reference: str) -> list[StoredProviderEvent]:
        rows = self._all(self._s.unapplied_for, {"provider": provider, "reference": provider_reference})
        return [_stored_event_from(row) for row in rows]

    @translated
    def unapplied_for_capture(self, provider: str, capture_reference: str) -> list[StoredProviderEvent]:
        rows = self._all(self._s.unapplied_for_capture, {"provider": provider, "reference": capture_reference})
        return [_stored_event_from(row) for row in rows]


class SqlPayoutsMade(_Repository):
    """``PayoutsMade``: escrow's paid payouts through one gateway, from ``payouts``."""

    @translated
    def paid_through(self, provider: str, start: datetime, end: datetime) -> list[OurPayout]:
        params = {"provider": provider, "status": PayoutStatus.PAID.value, "start": start, "end": end}
        return [
            OurPayout(
                payout_id=str(row["id"]),
                reference=str(row["reference"]),
                amount=Money(int(row["amount_minor"]), Currency(row["currency"])),
                paid_at=row["settled_at"],
            )
            for row in self._all(self._s.payouts_paid_through, params)
        ]


class SqlRoutingState:
    """``RoutingState`` in the ``provider_breakers`` table, shared by every process on the
    database. Each call is its own short transaction (never inside a unit of work).

    ``update`` first reads without a lock: if ``change`` leaves that state as it is (the
    common "succeeded" on a closed circuit), nothing is written, which is what a
    serialised run would have given at that moment. Otherwise it creates the row if
    missing, locks it (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` holds
    the write lock), applies ``change`` to what it holds and writes the result, so two
    processes' updates never lose one another. ``change`` may be called twice: it must be
    pure, as ``BreakerState``'s transitions are. Raises DependencyUnavailable when the
    database is unreachable. Thread-safe (one connection per call)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._s = payment_statements(engine.dialect.name)

    def get(self, provider: str) -> BreakerState:
        with self._transaction(read_only=True) as connection:
            return self._read(connection, self._s.breaker, provider)

    def update(self, provider: str, change: Callable[[BreakerState], BreakerState]) -> BreakerState:
        current = self.get(provider)
        new = change(current)
        if new == current:
            return current
        with self._transaction(read_only=False) as connection:
            connection.execute(self._s.create_breaker, {"provider": provider})
            new = change(self._read(connection, self._s.lock_breaker, provider))
            connection.execute(
                self._s.save_breaker,
                {"b_provider": provider, "b_failures": new.consecutive_failures, "b_opened_at": new.opened_at},
            )
        return new

    @staticmethod
    def _read(connection: Connection, statement: Select[Any], provider: str) -> BreakerState:
        row = connection.execute(statement, {"provider": provider}).mappings().first()
        if row is None:
            return BreakerState(provider=provider)
        return BreakerState(
            provider=provider, consecutive_failures=int(row["consecutive_failures"]), opened_at=row["opened_at"]
        )

    @contextlib.contextmanager
    def _transaction(self, *, read_only: bool) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection:
                if read_only:
                    options: dict[str, Any] = {"postgresql_readonly": True} if self._s.locks_rows else {READ_ONLY: True}
                    connection.execution_options(**options)
                with connection.begin():
                    yield connection
        except sa_exc.SQLAlchemyError as error:
            raise translate(error) from error


if TYPE_CHECKING:  # mypy proves the adapters fit the ports (the contract tests prove behaviour)
    from core.payments.ports import Payments, ProviderEventInbox, RoutingState

    def _fits_payments(x: SqlPayments) -> Payments:
        return x

    def _fits_inbox(x: SqlProviderEventInbox) -> ProviderEventInbox:
        return x

    def _fits_routing(x: SqlRoutingState) -> RoutingState:
        return x
