"""``SqlUnitOfWork``: every persistence port over one connection and one transaction.

SQLAlchemy Core, not the ORM (DESIGN-NOTES: the ORM unit of work ran at a fifth of the
speed). Every statement is built once per dialect, with bound parameters only, and rows
are passed at execute time (several rows as one executemany), so SQLAlchemy compiles each
statement once and finds it in its cache afterwards; nothing on a hot path calls
``.values(...)``. Each use case costs a known number of round trips. A transfer on
PostgreSQL: BEGIN, the idempotency claim, the lock of both wallets, one executemany
UPDATE of the moved balances, one statement for the journal entry and its postings, the
idempotency result, the audit chain head's lock, one statement for the audit record and
its head, the outbox rows, COMMIT (10). SQLite has no data-modifying CTEs, so the journal
and the audit record take one statement more each there (in-process: no round trips).

Concurrency: on PostgreSQL running balances are locked with ``SELECT … FOR UPDATE`` in
id order and written back under a version guard; platform accounts are never locked or
updated (their balance is the sum of their postings). On SQLite every read-write
transaction starts with ``BEGIN IMMEDIATE`` (see ``engine``), so writers are serialised
and a plain SELECT already reads what nobody else can change before commit.

Escrow's repositories (contracts, payouts, parties, timers) live in ``escrow`` and join
the same transaction; ``book`` is the ledger as escrow posts to it (``LedgerBook`` over this
unit of work), so a money movement commits or rolls back with the state change behind it.

A read-only unit of work (``read_only=True``, for queries) begins a plain deferred
``BEGIN`` on SQLite, so in WAL mode it neither queues behind a writer nor holds one up,
and ``BEGIN READ ONLY`` on PostgreSQL. Its write methods and ``commit()`` raise
ReadOnlyViolation before anything reaches the database: calling them is a bug.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import Executable, Insert

from adapters.sql import tables as t
from adapters.sql.engine import READ_ONLY
from adapters.sql.errors import StorageFault, translate, translated
from adapters.sql.escrow import SqlContracts, SqlParties, SqlPayouts, SqlTimers, escrow_statements
from adapters.sql.mappers import (
    account_from_row,
    account_to_row,
    audit_record_from_row,
    audit_record_to_row,
    event_payload,
    from_document,
    journal_entry_from_rows,
    statement_line_from_row,
    to_document,
    token_from_row,
    token_to_row,
    user_from_row,
    user_to_row,
)
from adapters.sql.notifications import (
    SqlContractParties,
    SqlNotifications,
    SqlWalletOwners,
    notification_statements,
)
from adapters.sql.payments import SqlPayments, SqlPayoutsMade, SqlProviderEventInbox, payment_statements
from adapters.sql.payout_destinations import SqlPayoutDestinations, destination_statements
from core.escrow.ports import Book, Contracts, Parties, Payouts
from core.identity.domain import ApiToken, HandleTaken, TokenNotFound, User, UserNotFound
from core.identity.ports import ApiTokens, AuditLog, ChainHead, Users
from core.ledger.domain import (
    PLATFORM_OWNER,
    Account,
    AccountAlreadyExists,
    AccountBalance,
    AccountKind,
    AccountNotFound,
    JournalEntry,
    StatementLine,
)
from core.ledger.ports import Accounts, BalanceSnapshots, EntryCursor, Journal, SnapshotLine, StoredSnapshot
from core.ledger.use_cases.book import LedgerBook
from core.messaging.domain import DeadLetter, Heartbeat, OutboxStats
from core.messaging.ports import DeadLetters, Heartbeats, Inbox, Leases, OutboxFeed
from core.notifications.ports import ContractParties, Notifications, WalletOwners
from core.payments.ports import Payments, PayoutDestinations, PayoutsMade, ProviderEventInbox
from core.shared.audit import GENESIS_HASH, AuditDraft, AuditRecord, AuditTrail, chain_for, seal
from core.shared.errors import ConcurrentUpdate
from core.shared.events import DomainEvent, EventEnvelope
from core.shared.idempotency import IdempotencyKeyReused, IdempotencyStore
from core.shared.ids import AccountId, EventId, IdempotencyKey, SnapshotId, TokenId, UserId, new_id
from core.shared.money import Currency, Money
from core.shared.outbox import Outbox
from core.shared.timers import Timers

if TYPE_CHECKING:
    from core.escrow.ports import EscrowUnitOfWork
    from core.identity.ports import IdentityUnitOfWork
    from core.ledger.ports import LedgerUnitOfWork
    from core.messaging.ports import MessagingUnitOfWork
    from core.notifications.ports import NotificationsUnitOfWork
    from core.payments.ports import PaymentsUnitOfWork, PayoutDestinationsUnitOfWork

R = TypeVar("R")

_RUNNING_KINDS = tuple(kind.value for kind in AccountKind if kind.keeps_running_balance)


class ReadOnlyViolation(RuntimeError):
    """A write or ``commit()`` on a read-only unit of work: a programming error (a query
    wired to a writing use case, or the reverse), raised before the database is asked."""


class SqlUnitOfWork:
    """One transaction on one pooled connection; satisfies ``LedgerUnitOfWork``,
    ``IdentityUnitOfWork``, ``EscrowUnitOfWork``, ``MessagingUnitOfWork``,
    ``NotificationsUnitOfWork`` and ``PaymentsUnitOfWork`` (payments' repositories in
    ``payments``).

    ``__enter__`` checks a connection out and begins; ``__exit__`` rolls back unless
    ``commit()`` ran, and returns the connection. A dry-run unit of work runs every
    statement and check, then rolls back at ``commit()``. A read-only one (for queries)
    reads without taking SQLite's write lock; its writes and ``commit()`` raise
    ReadOnlyViolation. Driver errors leave as DependencyUnavailable or ConcurrentUpdate
    (see ``errors``). Not thread-safe: make one per transaction (the factory is cheap),
    as use cases do.
    """

    def __init__(self, engine: Engine, *, audit_chains: int, dry_run: bool = False, read_only: bool = False) -> None:
        if not 1 <= audit_chains <= t.MAX_AUDIT_CHAINS:
            raise ValueError(f"audit_chains must be 1..{t.MAX_AUDIT_CHAINS}, not {audit_chains}")
        if dry_run and read_only:
            raise ValueError("a read-only unit of work never commits, so it has no dry run")
        self._engine = engine
        self._dry_run = dry_run
        self.read_only = read_only
        self.audit_chains = audit_chains
        self.statements = _statements(engine.dialect.name)
        self._connection: Connection | None = None
        self.accounts: Accounts = _Accounts(self)
        self.journal: Journal = _Journal(self)
        self.snapshots: BalanceSnapshots = _Snapshots(self)
        self.users: Users = _Users(self)
        self.tokens: ApiTokens = _Tokens(self)
        self.idempotency: IdempotencyStore = _Idempotency(self)
        self.audit: AuditTrail = _Audit(self)
        self.audit_log: AuditLog = _AuditLog(self)
        self.outbox: Outbox = _Outbox(self)
        escrow = escrow_statements(self.statements.dialect)
        self.contracts: Contracts = SqlContracts(self, escrow)
        self.payouts: Payouts = SqlPayouts(self, escrow)
        self.parties: Parties = SqlParties(self, escrow)
        self.timers: Timers = SqlTimers(self, escrow)
        self.outbox_feed: OutboxFeed = _OutboxFeed(self)
        self.inbox: Inbox = _Inbox(self)
        self.dead_letters: DeadLetters = _DeadLetters(self)
        self.heartbeats: Heartbeats = _Heartbeats(self)
        self.leases: Leases = _Leases(self)
        notices = notification_statements(self.statements.dialect)
        self.notifications: Notifications = SqlNotifications(self, notices)
        self.contract_parties: ContractParties = SqlContractParties(self, notices)
        self.wallet_owners: WalletOwners = SqlWalletOwners(self, notices)
        paying = payment_statements(self.statements.dialect)
        self.payments: Payments = SqlPayments(self, paying)
        self.provider_events: ProviderEventInbox = SqlProviderEventInbox(self, paying)
        self.payouts_made: PayoutsMade = SqlPayoutsMade(self, paying)
        self.payout_destinations: PayoutDestinations = SqlPayoutDestinations(
            self, destination_statements(self.statements.dialect)
        )
        # The ledger as escrow posts to it, in this same transaction.
        self.book: Book = LedgerBook(self)

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use it in a `with` block")
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("the unit of work is already open")
        try:
            connection = self._engine.connect()
        except sa_exc.SQLAlchemyError as error:
            raise translate(error) from error
        try:
            if self.read_only:
                connection.execution_options(**self.statements.read_only_options)
            # On SQLite: BEGIN IMMEDIATE, so the write lock is ours from here (a plain BEGIN
            # when read-only). On PostgreSQL psycopg sends BEGIN with the first statement.
            connection.begin()
        except sa_exc.SQLAlchemyError as error:
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                connection.close()
            raise translate(error) from error
        self._connection = connection
        return self

    def __exit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.rollback()  # a no-op after commit()
        except sa_exc.SQLAlchemyError:
            # The connection broke; the server discards the transaction along with it.
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                connection.invalidate()
        finally:
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                connection.close()

    @translated
    def commit(self) -> None:
        self.require_writable("commit()")
        if self._dry_run:
            self.connection.rollback()
        else:
            self.connection.commit()

    def require_writable(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyViolation(f"{what} on a read-only unit of work")


def _binds(table: Table, prefix: str = "") -> dict[str, Any]:
    """``column -> bindparam(prefix + column)`` for every column a caller writes (all but
    autoincremented keys and server defaults), each typed as its column."""
    return {
        c.key: bindparam(prefix + c.key, type_=c.type)
        for c in table.columns
        if c.server_default is None and not (c.primary_key and c.autoincrement is True)
    }


class _Statements:
    """Every statement the adapter runs, built once per dialect with bound parameters only
    (SQLAlchemy then compiles each once and caches it)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.locks_rows = dialect == "postgresql"
        # Data-modifying CTEs (an INSERT inside WITH): PostgreSQL only.
        self.folds = dialect == "postgresql"
        self.read_only_options: dict[str, Any] = (
            {"postgresql_readonly": True} if dialect == "postgresql" else {READ_ONLY: True}
        )
        self._ledger()
        self._identity()
        self._audit()
        self._messaging()

    def _ledger(self) -> None:
        a, p, e = t.accounts, t.postings, t.journal_entries
        self.insert_account = self.insert_or_skip(a).values(_binds(a)).returning(a.c.id)
        self.account_by_id = select(a).where(a.c.id == bindparam("id"))
        self.account_by_slot = select(a).where(
            a.c.owner_id == bindparam("owner_id"),
            a.c.kind == bindparam("kind"),
            a.c.currency == bindparam("currency"),
            a.c.label == bindparam("label"),
        )
        self.accounts_of_owner = (
            select(a)
            .where(a.c.owner_id == bindparam("owner_id"), a.c.kind == bindparam("kind"))
            .order_by(a.c.currency, a.c.label, a.c.id)
        )
        # The kinds are constants (bound, not re-rendered per call); on PostgreSQL the ids
        # are one array parameter, so the SQL text is the same for any number of them.
        running = a.c.kind.in_([literal(kind) for kind in _RUNNING_KINDS])
        lock = select(a).where(self._id_in(a.c.id), running).order_by(a.c.id)
        self.lock_running = lock.with_for_update() if self.locks_rows else lock
        self.accounts_by_ids = select(a).where(self._id_in(a.c.id)).order_by(a.c.id)
        self.save_balance = (
            a.update()
            .where(a.c.id == bindparam("b_id"), a.c.version == bindparam("b_version"))
            .values(balance_minor=bindparam("b_balance"), version=a.c.version + 1)
        )
        derived = select(func.coalesce(func.sum(p.c.amount_minor), 0)).where(p.c.account_id == a.c.id).scalar_subquery()
        self.balances = select(
            a.c.id,
            a.c.owner_id,
            a.c.kind,
            a.c.currency,
            case((a.c.kind.in_(_RUNNING_KINDS), a.c.balance_minor), else_=cast(derived, BigInteger)).label(
                "balance_minor"
            ),
        ).order_by(a.c.id)

        self.insert_entry = self.insert_or_skip(e).values(_binds(e)).returning(e.c.id)
        self.insert_postings = insert(p).values(_binds(p))
        if self.folds:
            # The entry and its postings in one statement: the postings come from arrays
            # (one parameter per column, in posting order) and are inserted only if the
            # entry was, so the row count is 0 for an entry that exists already.
            entry = self.insert_entry.cte("entry")
            array_columns = {
                "account_id": postgresql.ARRAY(p.c.account_id.type),
                "amount_minor": postgresql.ARRAY(p.c.amount_minor.type),
                "currency": postgresql.ARRAY(p.c.currency.type),
                "balance_after_minor": postgresql.ARRAY(p.c.balance_after_minor.type),
            }
            lines = (
                func.unnest(*(bindparam("p_" + name, type_=type_) for name, type_ in array_columns.items()))
                .table_valued(*array_columns, with_ordinality="n")
                .render_derived(name="line")
            )
            self.append_entry = (
                insert(p)
                .from_select(
                    ["entry_id", *array_columns],
                    select(entry.c.id, *(lines.c[name] for name in array_columns))
                    .select_from(entry)
                    .join(lines, true())
                    .order_by(lines.c.n),
                )
                .add_cte(entry)
                .execution_options(preserve_rowcount=True)  # SQLAlchemy drops an INSERT's otherwise
            )
        line = (
            select(
                p.c.id.label("seq"),
                p.c.entry_id,
                e.c.kind,
                e.c.occurred_at,
                e.c.memo,
                p.c.amount_minor,
                p.c.currency,
                p.c.balance_after_minor,
            )
            .join_from(p, e, p.c.entry_id == e.c.id)
            .where(p.c.account_id == bindparam("account_id"))
            .order_by(p.c.id.desc())
            .limit(bindparam("limit"))
        )
        self.statement_newest = line
        self.statement_before = line.where(p.c.id < bindparam("before_seq"))
        self.derived_balance = select(cast(func.coalesce(func.sum(p.c.amount_minor), 0), BigInteger)).where(
            p.c.account_id == bindparam("account_id")
        )
        self.insert_snapshot_lines = insert(t.balance_snapshots).values(_binds(t.balance_snapshots))
        s = t.balance_snapshots
        self.latest_snapshot = (
            select(s.c.snapshot_id, s.c.taken_at)
            .where(s.c.taken_at <= bindparam("at"))
            .order_by(s.c.taken_at.desc(), s.c.snapshot_id.desc())
            .limit(1)
        )
        self.snapshot_lines = (
            select(s.c.account_id, s.c.balance_minor, s.c.currency)
            .where(s.c.snapshot_id == bindparam("snapshot_id"))
            .order_by(s.c.account_id)
        )
        period = (
            select(e.c.id, e.c.kind, e.c.occurred_at, e.c.initiated_by, e.c.memo)
            .where(e.c.occurred_at >= bindparam("from_at"), e.c.occurred_at < bindparam("to_at"))
            .order_by(e.c.occurred_at, e.c.id)
            .limit(bindparam("limit"))
        )
        self.entries_first = period
        self.entries_after = period.where(
            or_(
                e.c.occurred_at > bindparam("after_at"),
                and_(e.c.occurred_at == bindparam("after_at"), e.c.id > bindparam("after_id")),
            )
        )
        self.postings_of_entries = (
            select(p.c.entry_id, p.c.account_id, p.c.amount_minor, p.c.currency)
            .where(p.c.entry_id.in_(bindparam("entry_ids", expanding=True)))
            .order_by(p.c.id)
        )

    def _identity(self) -> None:
        u, k = t.users, t.api_tokens
        self.insert_user = self.insert_or_skip(u).values(_binds(u)).returning(u.c.id)
        self.user_by_id = select(u).where(u.c.id == bindparam("id"))
        self.user_by_handle = select(u).where(u.c.handle == bindparam("handle"))
        self.user_exists = select(literal(1)).select_from(u).where(u.c.id == bindparam("id"))
        self.any_user = select(literal(1)).select_from(u).limit(1)
        self.insert_token = insert(k).values(_binds(k))
        self.token_by_id = select(k).where(k.c.id == bindparam("id"))
        self.lock_token = self.token_by_id.with_for_update() if self.locks_rows else self.token_by_id
        self.token_by_hash = select(k).where(k.c.token_hash == bindparam("token_hash"))
        self.save_token = (
            k.update()
            .where(k.c.id == bindparam("t_id"))
            .values(
                label=bindparam("t_label"),
                expires_at=bindparam("t_expires_at"),
                revoked_at=bindparam("t_revoked_at"),
            )
        )

        i = t.idempotency_keys
        self.insert_idempotency = self.insert_or_skip(i).values(_binds(i)).returning(i.c.key)
        self.complete_idempotency = (
            i.update()
            .where(i.c.scope == bindparam("i_scope"), i.c.key == bindparam("i_key"))
            .values(result=bindparam("i_result", type_=i.c.result.type))
        )
        self.find_idempotency = select(i.c.command, i.c.fingerprint, i.c.result, i.c.created_at).where(
            i.c.scope == bindparam("scope"), i.c.key == bindparam("key")
        )

    def _audit(self) -> None:
        """The audit trail, and the outbox written beside it."""
        r, h = t.audit_records, t.audit_chain_heads
        head = select(h.c.last_seq, h.c.last_hash).where(h.c.chain == bindparam("chain"))
        self.lock_head = head.with_for_update() if self.locks_rows else head
        self.create_head = self.insert_or_skip(h).values(_binds(h))
        # "r_" names: the folded form below updates audit_chain_heads, whose column names
        # SQLAlchemy reserves in that statement.
        self.insert_audit_record = insert(r).values(_binds(r, "r_"))
        self.advance_head = (
            h.update()
            .where(h.c.chain == bindparam("h_chain"))
            .values(last_seq=bindparam("h_seq"), last_hash=bindparam("h_hash"))
        )
        if self.folds:
            # The record and its head's advance in one statement; the head takes the
            # inserted record's seq and hash, so they cannot disagree.
            record = self.insert_audit_record.returning(r.c.chain, r.c.seq, r.c.hash).cte("record")
            self.append_audit_record = (
                h.update()
                .where(h.c.chain == record.c.chain)
                .values(last_seq=record.c.seq, last_hash=record.c.hash)
                .add_cte(record)
            )
        chains_with_records = select(r.c.chain)
        self.heads = union_all(
            select(h.c.chain, h.c.last_seq, h.c.last_hash).where(
                (h.c.last_seq != 0) | h.c.chain.in_(chains_with_records)
            ),
            # A chain whose head row is gone: reported so that the loss is detected.
            select(r.c.chain, literal(-1, BigInteger), literal(""))
            .where(r.c.chain.not_in(select(h.c.chain)))
            .group_by(r.c.chain),
        ).order_by("chain")
        self.audit_records = (
            select(r)
            .where(r.c.chain == bindparam("chain"), r.c.seq > bindparam("after_seq"))
            .order_by(r.c.seq)
            .limit(bindparam("limit"))
        )

        self.insert_outbox = insert(t.outbox).values(_binds(t.outbox))

    def _messaging(self) -> None:
        """The relay's side of the outbox, the inbox, dead letters, heartbeats, leases."""
        o, i, d, w, le = t.outbox, t.inbox, t.dead_letters, t.worker_heartbeats, t.leases
        envelope = select(o.c.id, o.c.event_id, o.c.name, o.c.aggregate_id, o.c.occurred_at, o.c.payload)
        pending = o.c.published_at.is_(None)  # the predicate of ix_outbox_pending, verbatim
        self.pending_events = envelope.where(pending).order_by(o.c.id).limit(bindparam("limit"))
        self.mark_published = (
            o.update()
            .where(self._in(o.c.id, "seqs", BigInteger), pending)
            .values(published_at=bindparam("o_published_at", type_=o.c.published_at.type))
        )
        # Pending count and oldest time from the partial index alone; ``last_id`` (one probe
        # of the primary key) stands in for a count of published rows (see _OutboxFeed.stats).
        self.outbox_stats = select(
            func.count().label("pending"),
            func.min(o.c.occurred_at).label("oldest_pending_at"),
            select(func.coalesce(func.max(o.c.id), 0)).scalar_subquery().label("last_id"),
        ).where(pending)
        self.accept_event = self.insert_or_skip(i).values(_binds(i)).returning(i.c.event_id)
        self.event_handled = (
            select(literal(1))
            .select_from(i)
            .where(i.c.consumer == bindparam("consumer"), i.c.event_id == bindparam("event_id"))
        )

        self.record_dead_letter = self.insert_or_skip(d).values(_binds(d)).returning(d.c.id)
        newest = select(d).order_by(d.c.id.desc()).limit(bindparam("limit"))
        of_consumer = d.c.consumer == bindparam("consumer")
        before = d.c.id < bindparam("before_id")
        # (by consumer, before an id) -> statement: each keeps its predicate sargable.
        self.dead_letter_pages = {
            (False, False): newest,
            (True, False): newest.where(of_consumer),
            (False, True): newest.where(before),
            (True, True): newest.where(of_consumer, before),
        }
        self.count_dead_letters = select(func.count()).select_from(d)

        upsert = postgresql.insert(w) if self.locks_rows else sqlite.insert(w)
        upsert = upsert.values(_binds(w))
        self.beat = upsert.on_conflict_do_update(
            index_elements=[w.c.worker_id],
            set_={name: upsert.excluded[name] for name in ("host", "pid", "started_at", "beat_at")},
        )
        self.latest_heartbeat = select(w).order_by(w.c.beat_at.desc(), w.c.worker_id.desc()).limit(1)

        # Take, renew or take over in one statement: the row is locked while the WHERE is
        # checked (PostgreSQL), or the write lock is ours (SQLite), so two relays racing for
        # an expired lease cannot both win. A row comes back only if ours now.
        take = postgresql.insert(le) if self.locks_rows else sqlite.insert(le)
        take = take.values(
            name=bindparam("l_name", type_=le.c.name.type),
            holder=bindparam("l_holder", type_=le.c.holder.type),
            expires_at=bindparam("l_until", type_=le.c.expires_at.type),
        )
        self.acquire_lease = take.on_conflict_do_update(
            index_elements=[le.c.name],
            set_={"holder": take.excluded.holder, "expires_at": take.excluded.expires_at},
            where=or_(
                le.c.holder == take.excluded.holder,
                le.c.expires_at <= bindparam("l_now", type_=le.c.expires_at.type),
            ),
        ).returning(le.c.name)
        self.release_lease = le.delete().where(
            le.c.name == bindparam("l_name", type_=le.c.name.type),
            le.c.holder == bindparam("l_holder", type_=le.c.holder.type),
        )

    def _in(self, column: ColumnElement[Any], name: str, type_: type[String] | type[BigInteger]) -> ColumnElement[bool]:
        """``column`` is one of the list parameter ``name``: one array parameter on
        PostgreSQL (the same SQL text for any length), an expanding IN on SQLite."""
        if self.dialect == "postgresql":
            return column == any_(bindparam(name, type_=postgresql.ARRAY(type_())))
        return column.in_(bindparam(name, expanding=True))

    def insert_or_skip(self, table: Table) -> Insert:
        """INSERT … ON CONFLICT DO NOTHING: a taken unique key inserts nothing (seen in
        RETURNING) and, unlike a caught unique violation, leaves a PostgreSQL transaction
        usable. On PostgreSQL it waits for a concurrent inserter of the same key to end."""
        if self.locks_rows:
            return postgresql.insert(table).on_conflict_do_nothing()
        return sqlite.insert(table).on_conflict_do_nothing()

    def _id_in(self, column: ColumnElement[str]) -> ColumnElement[bool]:
        """``column`` is one of the ``ids`` parameter (a list)."""
        if self.dialect == "postgresql":
            return column == any_(bindparam("ids", type_=postgresql.ARRAY(String)))
        return column.in_(bindparam("ids", expanding=True))


@functools.cache
def _statements(dialect: str) -> _Statements:
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"the SQL adapter supports PostgreSQL and SQLite, not {dialect}")
    return _Statements(dialect)


class _Part:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._s = uow.statements

    def _all(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Sequence[RowMapping]:
        return self._uow.connection.execute(statement, params).mappings().all()

    def _first(self, statement: Executable, params: Mapping[str, Any] | None = None) -> RowMapping | None:
        return self._uow.connection.execute(statement, params).mappings().first()

    def _writing(self, what: str) -> Connection:
        """The connection, for a write; raises ReadOnlyViolation in a read-only unit of work."""
        self._uow.require_writable(what)
        return self._uow.connection


class _Accounts(_Part):
    @translated
    def add(self, account: Account) -> None:
        self._writing("accounts.add")
        if self._first(self._s.insert_account, account_to_row(account)) is None:
            raise AccountAlreadyExists(account.owner_id, account.kind.value, account.currency.code)

    @translated
    def get(self, account_id: AccountId) -> Account:
        row = self._first(self._s.account_by_id, {"id": account_id})
        if row is None:
            raise AccountNotFound(account_id)
        return account_from_row(row)

    @translated
    def lock(self, account_ids: Collection[AccountId]) -> dict[AccountId, Account]:
        self._writing("accounts.lock")
        wanted = sorted(set(account_ids))
        found = {row["id"]: account_from_row(row) for row in self._all(self._s.lock_running, {"ids": wanted})}
        rest = [aid for aid in wanted if aid not in found]
        if rest:  # platform accounts (never locked) or missing ones
            found.update(
                {row["id"]: account_from_row(row) for row in self._all(self._s.accounts_by_ids, {"ids": rest})}
            )
        for aid in wanted:
            if aid not in found:
                raise AccountNotFound(aid)
        return {aid: found[aid] for aid in wanted}

    @translated
    def find(self, *, owner_id: str, kind: AccountKind, currency: Currency, label: str = "") -> Account | None:
        row = self._first(
            self._s.account_by_slot,
            {"owner_id": owner_id, "kind": kind.value, "currency": currency.code, "label": label},
        )
        return None if row is None else account_from_row(row)

    @translated
    def of_owner(self, owner_id: str, kind: AccountKind) -> list[Account]:
        rows = self._all(self._s.accounts_of_owner, {"owner_id": owner_id, "kind": kind.value})
        return [account_from_row(row) for row in rows]

    @translated
    def ensure_platform(self, kind: AccountKind, currency: Currency, label: str, *, at: datetime) -> Account:
        existing = self.find(owner_id=PLATFORM_OWNER, kind=kind, currency=currency, label=label)
        if existing is not None:
            return existing
        self._writing("accounts.ensure_platform")
        account = Account.open(
            id=AccountId(new_id("acc")), owner_id=PLATFORM_OWNER, kind=kind, currency=currency, label=label, at=at
        )
        if self._first(self._s.insert_account, account_to_row(account)) is not None:
            return account
        # A concurrent transaction opened it first (and committed: the insert waited).
        winner = self.find(owner_id=PLATFORM_OWNER, kind=kind, currency=currency, label=label)
        if winner is None:
            raise StorageFault(f"platform account {kind.value}/{currency.code}/{label} is neither new nor stored")
        return winner

    @translated
    def save_balances(self, accounts: Iterable[Account]) -> None:
        connection = self._writing("accounts.save_balances")
        running = [a for a in accounts if a.kind.keeps_running_balance]
        if not running:
            return
        # One prebuilt, version-guarded UPDATE; several accounts go as one executemany
        # (one round trip on psycopg 3, which pipelines it), checked by the total row count.
        params = [{"b_id": a.id, "b_version": a.version, "b_balance": a.balance.minor} for a in running]
        result = connection.execute(self._s.save_balance, params[0] if len(params) == 1 else params)
        if result.rowcount != len(params):
            raise ConcurrentUpdate("account " + ", ".join(a.id for a in running))
        for account in running:
            account.version += 1

    @translated
    def balances(self) -> list[AccountBalance]:
        return [
            AccountBalance(
                account_id=AccountId(row["id"]),
                owner_id=row["owner_id"],
                kind=AccountKind(row["kind"]),
                balance=Money(int(row["balance_minor"]), Currency(row["currency"])),
            )
            for row in self._all(self._s.balances)
        ]


class _Journal(_Part):
    @translated
    def append(self, entry: JournalEntry, balances_after: Mapping[AccountId, Money | None]) -> None:
        connection = self._writing("journal.append")
        entry_row = {
            "id": entry.id,
            "kind": entry.kind.value,
            "occurred_at": entry.occurred_at,
            "initiated_by": entry.initiated_by,
            "memo": entry.memo,
        }
        afters = [balances_after.get(posting.account_id) for posting in entry.postings]
        if self._s.folds:
            inserted = connection.execute(
                self._s.append_entry,
                {
                    **entry_row,
                    "p_account_id": [posting.account_id for posting in entry.postings],
                    "p_amount_minor": [posting.amount.minor for posting in entry.postings],
                    "p_currency": [posting.amount.currency.code for posting in entry.postings],
                    "p_balance_after_minor": [None if after is None else after.minor for after in afters],
                },
            ).rowcount
            if inserted != len(entry.postings):  # 0: the entry exists, so nothing was inserted
                raise ValueError(f"journal entry {entry.id} exists already; entries are append-only")
            return
        if self._first(self._s.insert_entry, entry_row) is None:
            raise ValueError(f"journal entry {entry.id} exists already; entries are append-only")
        connection.execute(
            self._s.insert_postings,
            [
                {
                    "entry_id": entry.id,
                    "account_id": posting.account_id,
                    "amount_minor": posting.amount.minor,
                    "currency": posting.amount.currency.code,
                    "balance_after_minor": None if after is None else after.minor,
                }
                for posting, after in zip(entry.postings, afters, strict=True)
            ],
        )

    @translated
    def statement(self, account_id: AccountId, *, before_seq: int | None, limit: int) -> list[StatementLine]:
        if before_seq is None:
            rows = self._all(self._s.statement_newest, {"account_id": account_id, "limit": limit})
        else:
            rows = self._all(
                self._s.statement_before, {"account_id": account_id, "limit": limit, "before_seq": before_seq}
            )
        return [statement_line_from_row(row) for row in rows]

    @translated
    def derived_balance(self, account_id: AccountId, currency: Currency) -> Money:
        total = self._uow.connection.execute(self._s.derived_balance, {"account_id": account_id}).scalar_one()
        return Money(int(total), currency)

    @translated
    def entries_between(
        self, from_at: datetime, to_at: datetime, *, after: EntryCursor | None, limit: int
    ) -> list[JournalEntry]:
        if limit <= 0:
            return []
        params: dict[str, Any] = {"from_at": from_at, "to_at": to_at, "limit": limit}
        if after is None:
            rows = self._all(self._s.entries_first, params)
        else:
            params.update(after_at=after.occurred_at, after_id=after.entry_id)
            rows = self._all(self._s.entries_after, params)
        if not rows:
            return []
        postings: dict[str, list[RowMapping]] = {row["id"]: [] for row in rows}
        for posting in self._all(self._s.postings_of_entries, {"entry_ids": list(postings)}):
            postings[posting["entry_id"]].append(posting)
        return [journal_entry_from_rows(row, postings[row["id"]]) for row in rows]


class _Snapshots(_Part):
    @translated
    def add(self, snapshot_id: SnapshotId, taken_at: datetime, lines: Iterable[SnapshotLine]) -> None:
        connection = self._writing("snapshots.add")
        rows = [
            {
                "snapshot_id": snapshot_id,
                "account_id": line.account_id,
                "taken_at": taken_at,
                "balance_minor": line.balance.minor,
                "currency": line.balance.currency.code,
            }
            for line in lines
        ]
        if rows:  # one executemany: a snapshot may cover many accounts
            connection.execute(self._s.insert_snapshot_lines, rows)

    @translated
    def latest_at_or_before(self, at: datetime) -> StoredSnapshot | None:
        found = self._first(self._s.latest_snapshot, {"at": at})
        if found is None:
            return None
        rows = self._all(self._s.snapshot_lines, {"snapshot_id": found["snapshot_id"]})
        return StoredSnapshot(
            snapshot_id=SnapshotId(found["snapshot_id"]),
            taken_at=found["taken_at"],
            lines=tuple(
                SnapshotLine(
                    account_id=AccountId(row["account_id"]),
                    balance=Money(int(row["balance_minor"]), Currency(row["currency"])),
                )
                for row in rows
            ),
        )


class _Users(_Part):
    @translated
    def add(self, user: User) -> None:
        self._writing("users.add")
        if self._first(self._s.insert_user, user_to_row(user)) is None:
            raise HandleTaken(user.handle)

    @translated
    def get(self, user_id: UserId) -> User:
        row = self._first(self._s.user_by_id, {"id": user_id})
        if row is None:
            raise UserNotFound(user_id)
        return user_from_row(row)

    @translated
    def by_handle(self, handle: str) -> User | None:
        row = self._first(self._s.user_by_handle, {"handle": handle})
        return None if row is None else user_from_row(row)

    @translated
    def user_exists(self, user_id: str) -> bool:
        return self._first(self._s.user_exists, {"id": user_id}) is not None

    @translated
    def any_exist(self) -> bool:
        return self._first(self._s.any_user) is not None


class _Tokens(_Part):
    @translated
    def add(self, token: ApiToken) -> None:
        self._writing("tokens.add").execute(self._s.insert_token, token_to_row(token))

    @translated
    def get(self, token_id: TokenId) -> ApiToken:
        row = self._first(self._s.token_by_id, {"id": token_id})
        if row is None:
            raise TokenNotFound(token_id)
        return token_from_row(row)

    @translated
    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self._first(self._s.token_by_hash, {"token_hash": token_hash})
        return None if row is None else token_from_row(row)

    @translated
    def lock(self, token_id: TokenId) -> ApiToken:
        self._writing("tokens.lock")
        row = self._first(self._s.lock_token, {"id": token_id})
        if row is None:
            raise TokenNotFound(token_id)
        return token_from_row(row)

    @translated
    def save(self, token: ApiToken) -> None:
        result = self._writing("tokens.save").execute(
            self._s.save_token,
            {
                "t_id": token.id,
                "t_label": token.label,
                "t_expires_at": token.expires_at,
                "t_revoked_at": token.revoked_at,
            },
        )
        if result.rowcount != 1:
            raise TokenNotFound(token.id)


class _Idempotency(_Part):
    @translated
    def claim(
        self,
        scope: str,
        key: IdempotencyKey,
        *,
        command: str,
        fingerprint: str,
        at: datetime,
        result_type: type[R],
    ) -> R | None:
        self._writing("idempotency.claim")
        # The claim row holds JSON null until complete(); on PostgreSQL a concurrent claim
        # of the same key waits on the unique index until this transaction ends.
        claimed = self._first(
            self._s.insert_idempotency,
            {
                "scope": scope,
                "key": key,
                "command": command,
                "fingerprint": fingerprint,
                "result": None,
                "created_at": at,
            },
        )
        if claimed is not None:
            return None
        row = self._first(self._s.find_idempotency, {"scope": scope, "key": key})
        if row is None:  # the other claim was rolled back between our insert and read
            raise ConcurrentUpdate(f"idempotency key {key!r}")
        if row["command"] != command or row["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused(key, row["command"])  # decided before loading the result
        if row["result"] is None:
            raise ConcurrentUpdate(f"idempotency key {key!r}")
        return from_document(row["result"], result_type)

    @translated
    def complete(self, scope: str, key: IdempotencyKey, result: object) -> None:
        self._writing("idempotency.complete").execute(
            self._s.complete_idempotency, {"i_scope": scope, "i_key": key, "i_result": to_document(result)}
        )


class _Audit(_Part):
    @translated
    def append(self, draft: AuditDraft) -> AuditRecord:
        connection = self._writing("audit.append")
        chain = chain_for(draft.id, self._uow.audit_chains)
        # The head's row lock (PostgreSQL) or the write lock (SQLite) orders the appends
        # of one chain: the next record is sealed over the head read here.
        head = self._first(self._s.lock_head, {"chain": chain})
        if head is None:  # the migration creates heads 0..255; this covers a pruned table
            connection.execute(self._s.create_head, {"chain": chain, "last_seq": 0, "last_hash": GENESIS_HASH})
            head = self._first(self._s.lock_head, {"chain": chain})
            if head is None:
                raise StorageFault(f"audit chain {chain} has no head row and none could be made")
        record = seal(draft, chain=chain, seq=int(head["last_seq"]) + 1, prev_hash=head["last_hash"])
        row = {"r_" + name: value for name, value in audit_record_to_row(record).items()}
        if self._s.folds:
            connection.execute(self._s.append_audit_record, row)
        else:
            connection.execute(self._s.insert_audit_record, row)
            connection.execute(self._s.advance_head, {"h_chain": chain, "h_seq": record.seq, "h_hash": record.hash})
        return record


class _AuditLog(_Part):
    @translated
    def heads(self) -> list[ChainHead]:
        return [
            ChainHead(chain=int(row["chain"]), last_seq=int(row["last_seq"]), last_hash=row["last_hash"])
            for row in self._all(self._s.heads)
        ]

    @translated
    def records(self, chain: int, *, after_seq: int, limit: int) -> list[AuditRecord]:
        rows = self._all(self._s.audit_records, {"chain": chain, "after_seq": after_seq, "limit": limit})
        return [audit_record_from_row(row) for row in rows]


class _Outbox(_Part):
    @translated
    def add(self, events: Iterable[DomainEvent]) -> None:
        connection = self._writing("outbox.add")
        rows = [
            {
                "event_id": event.event_id,
                "name": type(event).name,
                "aggregate_id": event.aggregate_id,
                "payload": event_payload(event),
                "occurred_at": event.occurred_at,
                "published_at": None,
            }
            for event in events
        ]
        if rows:  # one row: a plain execute; several: one executemany
            connection.execute(self._s.insert_outbox, rows[0] if len(rows) == 1 else rows)


class _OutboxFeed(_Part):
    """``OutboxFeed`` over the outbox table (``_Outbox`` adds to it)."""

    @translated
    def pending(self, *, limit: int) -> list[EventEnvelope]:
        if limit <= 0:
            return []
        return [_envelope(row) for row in self._all(self._s.pending_events, {"limit": limit})]

    @translated
    def mark_published(self, seqs: Collection[int], *, at: datetime) -> None:
        connection = self._writing("outbox_feed.mark_published")
        wanted = sorted(set(seqs))
        if wanted:  # one UPDATE; rows published already keep their first time
            connection.execute(self._s.mark_published, {"seqs": wanted, "o_published_at": at})

    @translated
    def stats(self) -> OutboxStats:
        """``pending`` and ``oldest_pending_at`` are exact (the partial index holds only
        pending rows). ``published`` is the highest outbox id minus the pending count, not
        a count of published rows (that would read the whole table on PostgreSQL): exact
        on SQLite, whose AUTOINCREMENT ids have no gaps; on PostgreSQL an upper bound, since
        ids a rolled-back transaction drew from the sequence count as published."""
        row = self._first(self._s.outbox_stats)
        if row is None:  # an aggregate without GROUP BY always answers one row
            raise StorageFault("the outbox statistics query returned no row")
        pending = int(row["pending"])
        return OutboxStats(
            pending=pending,
            oldest_pending_at=row["oldest_pending_at"],
            published=max(0, int(row["last_id"]) - pending),
        )


def _envelope(row: RowMapping) -> EventEnvelope:
    return EventEnvelope(
        seq=int(row["id"]),
        event_id=EventId(row["event_id"]),
        name=row["name"],
        aggregate_id=row["aggregate_id"],
        occurred_at=row["occurred_at"],
        payload=row["payload"],
    )


class _Inbox(_Part):
    @translated
    def accept(self, consumer: str, event_id: str, *, at: datetime) -> bool:
        self._writing("inbox.accept")
        # ON CONFLICT DO NOTHING: on PostgreSQL a concurrent transaction inserting the same
        # pair makes this wait for it, then insert nothing if it committed; on SQLite the
        # write lock taken at BEGIN already put the two in order.
        row = self._first(self._s.accept_event, {"consumer": consumer, "event_id": event_id, "handled_at": at})
        return row is not None

    @translated
    def handled(self, consumer: str, event_id: str) -> bool:
        return self._first(self._s.event_handled, {"consumer": consumer, "event_id": event_id}) is not None


class _DeadLetters(_Part):
    @translated
    def record(self, letter: DeadLetter) -> bool:
        self._writing("dead_letters.record")
        row = self._first(
            self._s.record_dead_letter,
            {
                "id": letter.id,
                "consumer": letter.consumer,
                "event_id": letter.event_id,
                "event_name": letter.event_name,
                "aggregate_id": letter.aggregate_id,
                "attempts": letter.attempts,
                "error_code": letter.error_code,
                "error": letter.error,
                "failed_at": letter.failed_at,
            },
        )
        return row is not None

    @translated
    def list(self, *, limit: int, consumer: str | None = None, before_id: str | None = None) -> list[DeadLetter]:
        if limit <= 0:
            return []
        statement = self._s.dead_letter_pages[(consumer is not None, before_id is not None)]
        rows = self._all(statement, {"limit": limit, "consumer": consumer, "before_id": before_id})
        return [
            DeadLetter(
                id=row["id"],
                consumer=row["consumer"],
                event_id=row["event_id"],
                event_name=row["event_name"],
                aggregate_id=row["aggregate_id"],
                attempts=int(row["attempts"]),
                error_code=row["error_code"],
                error=row["error"],
                failed_at=row["failed_at"],
            )
            for row in rows
        ]

    @translated
    def count(self) -> int:
        return int(self._uow.connection.execute(self._s.count_dead_letters).scalar_one())


class _Heartbeats(_Part):
    @translated
    def beat(self, heartbeat: Heartbeat) -> None:
        self._writing("heartbeats.beat").execute(
            self._s.beat,
            {
                "worker_id": heartbeat.worker_id,
                "host": heartbeat.host,
                "pid": heartbeat.pid,
                "started_at": heartbeat.started_at,
                "beat_at": heartbeat.beat_at,
            },
        )

    @translated
    def latest(self) -> Heartbeat | None:
        row = self._first(self._s.latest_heartbeat)
        if row is None:
            return None
        return Heartbeat(
            worker_id=row["worker_id"],
            host=row["host"],
            pid=int(row["pid"]),
            started_at=row["started_at"],
            beat_at=row["beat_at"],
        )


class _Leases(_Part):
    @translated
    def acquire(self, name: str, *, holder: str, now: datetime, until: datetime) -> bool:
        self._writing("leases.acquire")
        row = self._first(self._s.acquire_lease, {"l_name": name, "l_holder": holder, "l_now": now, "l_until": until})
        return row is not None

    @translated
    def release(self, name: str, *, holder: str) -> None:
        self._writing("leases.release").execute(self._s.release_lease, {"l_name": name, "l_holder": holder})


if TYPE_CHECKING:  # mypy proves the adapter fits the ports (the contract tests prove behaviour)

    def _fits_identity(uow: SqlUnitOfWork) -> IdentityUnitOfWork:
        return uow

    def _fits_ledger(uow: SqlUnitOfWork) -> LedgerUnitOfWork:
        return uow

    def _fits_escrow(uow: SqlUnitOfWork) -> EscrowUnitOfWork:
        return uow

    def _fits_messaging(uow: SqlUnitOfWork) -> MessagingUnitOfWork:
        return uow

    def _fits_notifications(uow: SqlUnitOfWork) -> NotificationsUnitOfWork:
        return uow

    def _fits_payments(uow: SqlUnitOfWork) -> PaymentsUnitOfWork:
        return uow

    def _fits_payout_destinations(uow: SqlUnitOfWork) -> PayoutDestinationsUnitOfWork:
        return uow
