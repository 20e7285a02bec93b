"""Escrow's ports over SQL: ``SqlContracts``, ``SqlPayouts``, ``SqlParties`` and
``SqlTimers``, for ``SqlUnitOfWork`` to expose next to the ledger's and identity's.

SQLAlchemy Core with prebuilt statements (bound parameters only, rows passed at execute
time), as in ``unit_of_work``. Rows are mapped to the domain explicitly below.

Concurrency. A contract and its milestones change together, only under the contract's
row lock and its version: ``lock`` takes ``SELECT … FOR UPDATE`` on the contract row
(PostgreSQL) and only then reads the milestones, in a second statement, so that they are
read after the lock was granted. (One joined statement would lock the contract but, in
READ COMMITTED, could return milestone rows from before the lock holder's commit.) On
SQLite every writer holds the database's write lock from ``BEGIN IMMEDIATE``, so one
joined SELECT serves both ``get`` and ``lock``. ``save`` is an UPDATE of the contract
guarded by its version (0 rows: ConcurrentUpdate), then the milestones that changed
since they were read, in one executemany. Payouts are one row each, locked and saved the
same way. Timers: ``due`` skips rows other transactions hold (``FOR UPDATE SKIP LOCKED``
on PostgreSQL), ``claim`` waits for them (``FOR UPDATE``) and then sees them fired.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import Executable, Insert

from adapters.sql import tables as t
from adapters.sql.errors import translated
from core.escrow.domain import (
    Contract,
    ContractId,
    ContractNotFound,
    ContractStatus,
    FeeSchedule,
    Milestone,
    MilestoneId,
    MilestoneStatus,
    Payout,
    PayoutId,
    PayoutNotFound,
    PayoutStatus,
    TimeoutOutcome,
)
from core.shared.actor import Persona
from core.shared.errors import ConcurrentUpdate
from core.shared.ids import AccountId
from core.shared.money import Currency, Money
from core.shared.timers import Timer


class Transaction(Protocol):
    """What the repositories need from ``SqlUnitOfWork``: the open connection, and a check
    that the unit of work may write."""

    @property
    def connection(self) -> Connection: ...

    def require_writable(self, what: str) -> None: ...


# --- statements -----------------------------------------------------------------------

_CONTRACT_KEYS = ("id", "version")  # never written by the UPDATE's SET
_MILESTONE_KEYS = ("id", "contract_id", "position")


def _binds(table: Table, prefix: str = "", *, skip: Collection[str] = ()) -> dict[str, Any]:
    """``column -> bindparam(prefix + column)``, each typed as its column."""
    return {c.key: bindparam(prefix + c.key, type_=c.type) for c in table.columns if c.key not in skip}


class EscrowStatements:
    """Every statement of the escrow repositories, built once per dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.locks_rows = dialect == "postgresql"
        c, m, p, tm = t.contracts, t.milestones, t.payouts, t.timers

        # contracts and their milestones
        self.insert_contract = self._insert_or_skip(c).values(_binds(c)).returning(c.c.id)
        self.insert_milestones = m.insert().values(_binds(m))
        joined = (
            select(*(col.label("c_" + col.key) for col in c.columns), *(col.label("m_" + col.key) for col in m.columns))
            .join_from(c, m, m.c.contract_id == c.c.id)
            .where(c.c.id == bindparam("id"))
            .order_by(m.c.position)
        )
        self.contract_with_milestones = joined
        self.lock_contract = select(*(col.label("c_" + col.key) for col in c.columns)).where(c.c.id == bindparam("id"))
        if self.locks_rows:
            self.lock_contract = self.lock_contract.with_for_update()
        self.milestones_of = (
            select(*(col.label("m_" + col.key) for col in m.columns))
            .where(m.c.contract_id == bindparam("id"))
            .order_by(m.c.position)
        )
        self.save_contract = (
            c.update()
            .where(c.c.id == bindparam("c_id"), c.c.version == bindparam("c_version"))
            .values({**_binds(c, "c_", skip=_CONTRACT_KEYS), "version": c.c.version + 1})
        )
        self.save_milestone = (
            m.update()
            .where(m.c.id == bindparam("m_id"), m.c.contract_id == bindparam("m_contract_id"))
            .values(_binds(m, "m_", skip=_MILESTONE_KEYS))
        )

        # payouts
        self.insert_payout = self._insert_or_skip(p).values(_binds(p)).returning(p.c.id)
        self.payout_by_id = select(p).where(p.c.id == bindparam("id"))
        self.lock_payout = self.payout_by_id.with_for_update() if self.locks_rows else self.payout_by_id
        self.save_payout = (
            p.update()
            .where(p.c.id == bindparam("p_id"), p.c.version == bindparam("p_version"))
            .values({**_binds(p, "p_", skip=("id", "version")), "version": p.c.version + 1})
        )

        # parties
        u = t.users
        self.personas = select(u.c.personas).where(u.c.id == bindparam("id"))

        # timers
        self.insert_timer = self._insert_or_skip(tm).values(_binds(tm))
        due = (
            select(tm.c.id, tm.c.kind, tm.c.due_at, tm.c.payload)
            .where(
                tm.c.fired_at.is_(None),
                tm.c.kind.in_(bindparam("kinds", expanding=True)),
                tm.c.due_at <= bindparam("now", type_=tm.c.due_at.type),
            )
            .order_by(tm.c.due_at, tm.c.id)
            .limit(bindparam("limit"))
        )
        self.due_timers = due.with_for_update(skip_locked=True) if self.locks_rows else due
        claim = select(tm.c.id, tm.c.kind, tm.c.due_at, tm.c.payload, tm.c.fired_at).where(tm.c.id == bindparam("id"))
        self.claim_timer = claim.with_for_update() if self.locks_rows else claim
        self.fire_timer = (
            tm.update()
            .where(tm.c.id == bindparam("t_id"), tm.c.fired_at.is_(None))
            .values(fired_at=bindparam("t_fired_at", type_=tm.c.fired_at.type), outcome=bindparam("t_outcome"))
        )
        self.postpone_timer = (
            tm.update()
            .where(tm.c.id == bindparam("t_id"), tm.c.fired_at.is_(None))
            .values(due_at=bindparam("t_due_at", type_=tm.c.due_at.type))
        )

    def _insert_or_skip(self, table: Table) -> Insert:
        """INSERT … ON CONFLICT DO NOTHING (see ``unit_of_work``)."""
        if self.locks_rows:
            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()


@functools.cache
def escrow_statements(dialect: str) -> EscrowStatements:
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"the SQL adapter supports PostgreSQL and SQLite, not {dialect}")
    return EscrowStatements(dialect)


# --- rows <-> domain ------------------------------------------------------------------


def contract_row(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "client_id": contract.client_id,
        "provider_id": contract.provider_id,
        "currency": contract.currency.code,
        "fee_tier": contract.fee_tier,
        "fee_bps": contract.fee.bps,
        "fee_min_minor": contract.fee.min_minor,
        "fee_max_minor": contract.fee.max_minor,
        "status": contract.status.value,
        "created_at": contract.created_at,
        "decided_at": contract.decided_at,
        "version": contract.version,
    }


def milestone_row(contract_id: str, milestone: Milestone) -> dict[str, Any]:
    proposal = milestone.refund_proposal
    return {
        "id": milestone.id,
        "contract_id": contract_id,
        "position": milestone.position,
        "title": milestone.title,
        "currency": milestone.amount.currency.code,
        "amount_minor": milestone.amount.minor,
        "due_at": milestone.due_at,
        "timeout_outcome": milestone.timeout_outcome.value,
        "auto_release_days": milestone.auto_release_days,
        "status": milestone.status.value,
        "held_minor": milestone.held.minor,
        "released_minor": milestone.released.minor,
        "refunded_minor": milestone.refunded.minor,
        "fees_minor": milestone.fees.minor,
        "submissions": milestone.submissions,
        "changes_requested": milestone.changes_requested,
        "escrow_account_id": milestone.escrow_account_id,
        "funded_at": milestone.funded_at,
        "submitted_at": milestone.submitted_at,
        "refund_proposal_minor": None if proposal is None else proposal.minor,
        "dispute_opened_by": milestone.dispute_opened_by,
        "closed_at": milestone.closed_at,
    }


def _milestone_from(row: RowMapping) -> Milestone:
    currency = Currency(row["m_currency"])

    def money(name: str) -> Money:
        return Money(int(row[name]), currency)

    proposal = row["m_refund_proposal_minor"]
    escrow = row["m_escrow_account_id"]
    return Milestone(
        id=MilestoneId(row["m_id"]),
        position=int(row["m_position"]),
        title=row["m_title"],
        amount=money("m_amount_minor"),
        due_at=row["m_due_at"],
        timeout_outcome=TimeoutOutcome(row["m_timeout_outcome"]),
        auto_release_days=int(row["m_auto_release_days"]),
        status=MilestoneStatus(row["m_status"]),
        held=money("m_held_minor"),
        released=money("m_released_minor"),
        refunded=money("m_refunded_minor"),
        fees=money("m_fees_minor"),
        submissions=int(row["m_submissions"]),
        changes_requested=int(row["m_changes_requested"]),
        escrow_account_id=None if escrow is None else AccountId(escrow),
        funded_at=row["m_funded_at"],
        submitted_at=row["m_submitted_at"],
        refund_proposal=None if proposal is None else Money(int(proposal), currency),
        dispute_opened_by=row["m_dispute_opened_by"],
        closed_at=row["m_closed_at"],
    )


def _contract_from(head: RowMapping, milestones: tuple[Milestone, ...]) -> Contract:
    max_minor = head["c_fee_max_minor"]
    return Contract(
        id=ContractId(head["c_id"]),
        client_id=head["c_client_id"],
        provider_id=head["c_provider_id"],
        currency=Currency(head["c_currency"]),
        fee=FeeSchedule(
            bps=int(head["c_fee_bps"]),
            min_minor=int(head["c_fee_min_minor"]),
            max_minor=None if max_minor is None else int(max_minor),
        ),
        fee_tier=head["c_fee_tier"],
        status=ContractStatus(head["c_status"]),
        milestones=milestones,
        created_at=head["c_created_at"],
        decided_at=head["c_decided_at"],
        version=int(head["c_version"]),
    )


def payout_row(payout: Payout) -> dict[str, Any]:
    return {
        "id": payout.id,
        "payee_id": payout.payee_id,
        "requested_by": payout.requested_by,
        "currency": payout.amount.currency.code,
        "amount_minor": payout.amount.minor,
        "status": payout.status.value,
        "required_approvals": payout.required_approvals,
        "approvals": list(payout.approvals),
        "wallet_account_id": payout.wallet_account_id,
        "transit_account_id": payout.transit_account_id,
        "requested_at": payout.requested_at,
        "attempts": payout.attempts,
        "gateway": payout.gateway,
        "reference": payout.reference,
        "failure_reason": payout.failure_reason,
        "settled_at": payout.settled_at,
        "version": payout.version,
    }


def _payout_from(row: RowMapping) -> Payout:
    return Payout(
        id=PayoutId(row["id"]),
        payee_id=row["payee_id"],
        requested_by=row["requested_by"],
        amount=Money(int(row["amount_minor"]), Currency(row["currency"])),
        status=PayoutStatus(row["status"]),
        required_approvals=int(row["required_approvals"]),
        approvals=tuple(row["approvals"]),
        wallet_account_id=AccountId(row["wallet_account_id"]),
        transit_account_id=AccountId(row["transit_account_id"]),
        requested_at=row["requested_at"],
        attempts=int(row["attempts"]),
        gateway=row["gateway"],
        reference=row["reference"],
        failure_reason=row["failure_reason"],
        settled_at=row["settled_at"],
        version=int(row["version"]),
    )


def _timer_from(row: RowMapping) -> Timer:
    return Timer(id=row["id"], kind=row["kind"], due_at=row["due_at"], payload=row["payload"])


def _prefixed(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + key: value for key, value in row.items()}


# --- repositories ---------------------------------------------------------------------


class _Repository:
    def __init__(self, tx: Transaction, statements: EscrowStatements) -> None:
        self._tx = tx
        self._s = statements

    def _all(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[RowMapping]:
        return self._tx.connection.execute(statement, params).mappings().all()

    def _first(self, statement: Executable, params: Mapping[str, Any] | None = None) -> RowMapping | None:
        return self._tx.connection.execute(statement, params).mappings().first()

    def _writing(self, what: str) -> Connection:
        self._tx.require_writable(what)
        return self._tx.connection


class SqlContracts(_Repository):
    """``Contracts``: a contract row and its milestone rows, saved under one version."""

    def __init__(self, tx: Transaction, statements: EscrowStatements) -> None:
        super().__init__(tx, statements)
        # The milestone rows as last read or written, by contract id, with the contract
        # version they belong to: ``save`` writes only the milestones that differ. Every
        # milestone write bumps the contract's version, so rows read at the version that
        # the guarded UPDATE matched are exactly what the database holds.
        self._seen: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}

    @translated
    def add(self, contract: Contract) -> None:
        connection = self._writing("contracts.add")
        if self._first(self._s.insert_contract, contract_row(contract)) is None:
            raise ValueError(f"contract {contract.id} exists already")
        rows = [milestone_row(contract.id, m) for m in contract.milestones]
        connection.execute(self._s.insert_milestones, rows[0] if len(rows) == 1 else rows)
        self._remember(contract.id, contract.version, rows)

    @translated
    def get(self, contract_id: ContractId) -> Contract:
        return self._joined(contract_id)

    @translated
    def lock(self, contract_id: ContractId) -> Contract:
        self._writing("contracts.lock")
        if not self._s.locks_rows:
            return self._joined(contract_id)  # the write lock (BEGIN IMMEDIATE) is held already
        head = self._first(self._s.lock_contract, {"id": contract_id})
        if head is None:
            raise ContractNotFound(contract_id)
        rows = self._all(self._s.milestones_of, {"id": contract_id})
        return self._contract(head, rows)

    @translated
    def save(self, contract: Contract) -> None:
        connection = self._writing("contracts.save")
        head = _prefixed(contract_row(contract), "c_")
        if connection.execute(self._s.save_contract, head).rowcount != 1:
            raise ConcurrentUpdate(f"contract {contract.id}")
        rows = [milestone_row(contract.id, m) for m in contract.milestones]
        version, seen = self._seen.get(contract.id, (None, {}))
        changed = [r for r in rows if version != contract.version or seen.get(r["id"]) != r]
        if changed:
            params = [_prefixed(r, "m_") for r in changed]
            result = connection.execute(self._s.save_milestone, params[0] if len(params) == 1 else params)
            if result.rowcount != len(params):
                raise ConcurrentUpdate(f"milestones of contract {contract.id}")
        contract.version += 1
        self._remember(contract.id, contract.version, rows)

    def _joined(self, contract_id: ContractId) -> Contract:
        rows = self._all(self._s.contract_with_milestones, {"id": contract_id})
        if not rows:
            raise ContractNotFound(contract_id)
        return self._contract(rows[0], rows)

    def _contract(self, head: RowMapping, rows: Sequence[RowMapping]) -> Contract:
        contract = _contract_from(head, tuple(_milestone_from(row) for row in rows))
        self._remember(contract.id, contract.version, [milestone_row(contract.id, m) for m in contract.milestones])
        return contract

    def _remember(self, contract_id: str, version: int, rows: list[dict[str, Any]]) -> None:
        self._seen[contract_id] = (version, {row["id"]: row for row in rows})


class SqlPayouts(_Repository):
    """``Payouts``: one row each, approvals as an ordered JSON list."""

    @translated
    def add(self, payout: Payout) -> None:
        self._writing("payouts.add")
        if self._first(self._s.insert_payout, payout_row(payout)) is None:
            raise ValueError(f"payout {payout.id} exists already")

    @translated
    def get(self, payout_id: PayoutId) -> Payout:
        return self._read(self._s.payout_by_id, payout_id)

    @translated
    def lock(self, payout_id: PayoutId) -> Payout:
        self._writing("payouts.lock")
        return self._read(self._s.lock_payout, payout_id)

    @translated
    def save(self, payout: Payout) -> None:
        connection = self._writing("payouts.save")
        if connection.execute(self._s.save_payout, _prefixed(payout_row(payout), "p_")).rowcount != 1:
            raise ConcurrentUpdate(f"payout {payout.id}")
        payout.version += 1

    def _read(self, statement: Executable, payout_id: PayoutId) -> Payout:
        row = self._first(statement, {"id": payout_id})
        if row is None:
            raise PayoutNotFound(payout_id)
        return _payout_from(row)


class SqlParties(_Repository):
    """``Parties``: personas from the users table."""

    @translated
    def personas(self, user_id: str) -> frozenset[Persona] | None:
        row = self._first(self._s.personas, {"id": user_id})
        return None if row is None else frozenset(Persona(p) for p in row["personas"])


class SqlTimers(_Repository):
    """``Timers``: one row per timer; fired ones stay, with when and how they fired."""

    @translated
    def schedule(self, timer: Timer) -> None:
        self._writing("timers.schedule").execute(
            self._s.insert_timer,
            {
                "id": timer.id,
                "kind": timer.kind,
                "due_at": timer.due_at,
                "payload": dict(timer.payload),
                "fired_at": None,
                "outcome": None,
            },
        )

    @translated
    def due(self, now: datetime, *, kinds: Collection[str], limit: int) -> list[Timer]:
        wanted = sorted(set(kinds))
        if not wanted or limit <= 0:
            return []
        rows = self._all(self._s.due_timers, {"kinds": wanted, "now": now, "limit": limit})
        return [_timer_from(row) for row in rows]

    @translated
    def claim(self, timer_id: str) -> Timer | None:
        self._writing("timers.claim")
        row = self._first(self._s.claim_timer, {"id": timer_id})
        if row is None or row["fired_at"] is not None:
            return None
        return _timer_from(row)

    @translated
    def mark_fired(self, timer_id: str, *, at: datetime, outcome: str) -> None:
        result = self._writing("timers.mark_fired").execute(
            self._s.fire_timer, {"t_id": timer_id, "t_fired_at": at, "t_outcome": outcome}
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"timer {timer_id}")

    @translated
    def postpone(self, timer_id: str, *, until: datetime) -> None:
        # No row changed: fired or unknown, nothing to move (PostgreSQL waits for a holder).
        self._writing("timers.postpone").execute(self._s.postpone_timer, {"t_id": timer_id, "t_due_at": until})
