from __future__ import annotations

import copy
import enum
import itertools
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Self, TypeVar

import attrs

from adapters.memory.notifications import (
    MemoryContractParties,
    MemoryNotifications,
    MemoryWalletOwners,
    NotificationRows,
)
from adapters.memory.payments import MemoryPayments, MemoryPayoutsMade, MemoryProviderEventInbox, PaymentsTables
from adapters.memory.payout_destinations import MemoryPayoutDestinations
from core.escrow.domain import Contract, ContractId, ContractNotFound, Payout, PayoutId, PayoutNotFound
from core.identity.domain import ApiToken, HandleTaken, TokenNotFound, User, UserNotFound
from core.identity.ports import ChainHead
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
from core.ledger.ports import EntryCursor, SnapshotLine, StoredSnapshot
from core.ledger.use_cases.book import LedgerBook
from core.messaging.domain import DeadLetter, Heartbeat, OutboxStats
from core.payments.destinations import PayoutDestination, PinnedPayoutDestination
from core.shared.actor import Persona
from core.shared.audit import GENESIS_HASH, AuditDraft, AuditRecord, chain_for, seal
from core.shared.errors import ConcurrentUpdate
from core.shared.events import DomainEvent, EventEnvelope
from core.shared.idempotency import IdempotencyKeyReused
from core.shared.ids import AccountId, IdempotencyKey, SnapshotId, TokenId, UserId, new_id
from core.shared.money import Currency, Money
from core.shared.timers import Timer

R = TypeVar("R")


@attrs.define
class _PostingRow:
    seq: int
    entry: JournalEntry
    account_id: AccountId
    amount: Money
    balance_after: Money | None


_PENDING = object()  # a claimed key whose command has not completed yet


@attrs.define
class OutboxRow:
    seq: int
    event: DomainEvent
    published_at: datetime | None = None

    def envelope(self) -> EventEnvelope:
        return EventEnvelope(
            seq=self.seq,
            event_id=self.event.event_id,
            name=type(self.event).name,
            aggregate_id=self.event.aggregate_id,
            occurred_at=self.event.occurred_at,
            payload=_document(self.event),
        )


def _document(value: DomainEvent) -> dict[str, object]:
    """An event's fields as JSON primitives, as the SQL adapter stores them (Money as
    ``{"minor", "currency"}``, datetimes in ISO 8601, enums by value)."""

    def primitive(_inst: object, _field: object, v: object) -> object:
        if isinstance(v, Money):
            return {"minor": v.minor, "currency": v.currency.code}
        if isinstance(v, Currency):
            return v.code
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, (frozenset, set, tuple)):
            return list(v)
        return v

    return attrs.asdict(value, recurse=True, value_serializer=primitive)


@attrs.define
class TimerRow:
    timer: Timer
    fired_at: datetime | None = None
    outcome: str | None = None


class MemoryStore:
    """All state of an in-memory installation. Thread-safe through one re-entrant lock."""

    def __init__(self, *, audit_chains: int = 8) -> None:
        self.lock = threading.RLock()
        self.audit_chains = audit_chains
        self.accounts: dict[AccountId, Account] = {}
        self.account_slots: dict[tuple[str, AccountKind, str, str], AccountId] = {}
        self.entries: dict[str, JournalEntry] = {}
        self.postings: list[_PostingRow] = []
        self.snapshots: list[tuple[SnapshotId, datetime, SnapshotLine]] = []
        self.idempotency: dict[tuple[str, str], _Claim] = {}
        self.audit: dict[int, list[AuditRecord]] = {}
        self.outbox: list[OutboxRow] = []
        self.users: dict[UserId, User] = {}
        self.handles: dict[str, UserId] = {}
        self.tokens: dict[TokenId, ApiToken] = {}
        self.token_hashes: dict[str, TokenId] = {}
        self.contracts: dict[ContractId, Contract] = {}
        self.payouts: dict[PayoutId, Payout] = {}
        self.timers: dict[str, TimerRow] = {}
        self.payments_tables = PaymentsTables()
        self.inbox: dict[tuple[str, str], datetime] = {}
        self.dead_letters: dict[tuple[str, str], DeadLetter] = {}
        self.heartbeats: dict[str, Heartbeat] = {}
        self.leases: dict[str, tuple[str, datetime]] = {}
        self.seq = itertools.count(1)
        self.notifications = NotificationRows()
        self.payout_destinations: dict[tuple[str, str], PayoutDestination] = {}
        self.payout_destination_pins: dict[str, PinnedPayoutDestination] = {}


def _copy(obj: R) -> R:
    return attrs.evolve(obj)  # type: ignore[misc]  # entities are attrs classes


class MemoryUnitOfWork:
    """A transaction over a ``MemoryStore``. Holds the store lock from ``__enter__`` to
    ``__exit__``; every write registers its undo, run in reverse unless committed."""

    def __init__(self, store: MemoryStore, *, dry_run: bool = False) -> None:
        self._store = store
        self._dry_run = dry_run
        self._undo: list[Callable[[], object]] = []
        self._committed = False
        self.accounts = _Accounts(self)
        self.journal = _Journal(self)
        self.snapshots = _Snapshots(self)
        self.users = _Users(self)
        self.tokens = _Tokens(self)
        self.idempotency = _Idempotency(self)
        self.audit = _Audit(self)
        self.audit_log = _AuditLog(self)
        self.outbox = _Outbox(self)
        self.contracts = _Contracts(self)
        self.payouts = _Payouts(self)
        self.parties = _Parties(self)
        self.timers = _Timers(self)
        self.payments = MemoryPayments(self)
        self.provider_events = MemoryProviderEventInbox(self)
        self.payouts_made = MemoryPayoutsMade(self)
        self.payout_destinations = MemoryPayoutDestinations(self)
        self.outbox_feed = _OutboxFeed(self)
        self.inbox = _Inbox(self)
        self.dead_letters = _DeadLetters(self)
        self.heartbeats = _Heartbeats(self)
        self.leases = _Leases(self)
        self.notifications = MemoryNotifications(self)
        self.contract_parties = MemoryContractParties(self)
        self.wallet_owners = MemoryWalletOwners(self)
        # The ledger as escrow posts to it, in this same transaction.
        self.book = LedgerBook(self)

    @property
    def store(self) -> MemoryStore:
        return self._store

    @property
    def payments_tables(self) -> PaymentsTables:
        return self._store.payments_tables

    def on_rollback(self, undo: Callable[[], object]) -> None:
        self._undo.append(undo)

    def __enter__(self) -> Self:
        self._store.lock.acquire()
        self._undo.clear()
        self._committed = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if not self._committed:
                for undo in reversed(self._undo):
                    undo()
        finally:
            self._undo.clear()
            self._store.lock.release()

    def commit(self) -> None:
        if self._dry_run:
            return  # __exit__ undoes everything: a dry run changes nothing
        self._committed = True


class _Part:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _s(self) -> MemoryStore:
        return self._uow.store


class _Accounts(_Part):
    def add(self, account: Account) -> None:
        slot = (account.owner_id, account.kind, account.currency.code, account.label)
        if slot in self._s.account_slots or account.id in self._s.accounts:
            raise AccountAlreadyExists(account.owner_id, account.kind.value, account.currency.code)
        self._s.accounts[account.id] = _copy(account)
        self._s.account_slots[slot] = account.id

        def undo() -> None:
            del self._s.accounts[account.id]
            del self._s.account_slots[slot]

        self._uow.on_rollback(undo)

    def get(self, account_id: AccountId) -> Account:
        try:
            return _copy(self._s.accounts[account_id])
        except KeyError:
            raise AccountNotFound(account_id) from None

    def lock(self, account_ids: Collection[AccountId]) -> dict[AccountId, Account]:
        # The store lock already serialises transactions; order matters only for SQL.
        return {aid: self.get(aid) for aid in sorted(account_ids)}

    def find(self, *, owner_id: str, kind: AccountKind, currency: Currency, label: str = "") -> Account | None:
        aid = self._s.account_slots.get((owner_id, kind, currency.code, label))
        return None if aid is None else self.get(aid)

    def of_owner(self, owner_id: str, kind: AccountKind) -> list[Account]:
        found = [a for a in self._s.accounts.values() if a.owner_id == owner_id and a.kind is kind]
        return [_copy(a) for a in sorted(found, key=lambda a: (a.currency.code, a.label, a.id))]

    def ensure_platform(self, kind: AccountKind, currency: Currency, label: str, *, at: datetime) -> Account:
        existing = self.find(owner_id=PLATFORM_OWNER, kind=kind, currency=currency, label=label)
        if existing is not None:
            return existing
        account = Account.open(
            id=AccountId(new_id("acc")), owner_id=PLATFORM_OWNER, kind=kind, currency=currency, label=label, at=at
        )
        self.add(account)
        return account

    def save_balances(self, accounts: Iterable[Account]) -> None:
        for account in accounts:
            if not account.kind.keeps_running_balance:
                continue  # platform balances are derived from postings, as in SQL
            stored = self._s.accounts.get(account.id)
            if stored is None:
                raise AccountNotFound(account.id)
            if stored.version != account.version:
                raise ConcurrentUpdate(f"account {account.id}")
            account.version += 1
            self._s.accounts[account.id] = _copy(account)

            def undo(previous: Account = stored) -> None:
                self._s.accounts[previous.id] = previous

            self._uow.on_rollback(undo)

    def balances(self) -> list[AccountBalance]:
        derived: dict[AccountId, int] = {}
        for row in self._s.postings:
            derived[row.account_id] = derived.get(row.account_id, 0) + row.amount.minor
        out = []
        for a in sorted(self._s.accounts.values(), key=lambda a: a.id):
            balance = a.balance if a.kind.keeps_running_balance else Money(derived.get(a.id, 0), a.currency)
            out.append(AccountBalance(account_id=a.id, owner_id=a.owner_id, kind=a.kind, balance=balance))
        return out


class _Journal(_Part):
    def append(self, entry: JournalEntry, balances_after: Mapping[AccountId, Money | None]) -> None:
        if entry.id in self._s.entries:
            raise ValueError(f"journal entry {entry.id} exists already; entries are append-only")
        self._s.entries[entry.id] = entry
        rows = [
            _PostingRow(next(self._s.seq), entry, p.account_id, p.amount, balances_after.get(p.account_id))
            for p in entry.postings
        ]
        self._s.postings.extend(rows)

        def undo() -> None:
            del self._s.entries[entry.id]
            del self._s.postings[-len(rows) :]

        self._uow.on_rollback(undo)

    def statement(self, account_id: AccountId, *, before_seq: int | None, limit: int) -> list[StatementLine]:
        lines: list[StatementLine] = []
        if limit <= 0:
            return lines
        for row in reversed(self._s.postings):
            if row.account_id != account_id or (before_seq is not None and row.seq >= before_seq):
                continue
            lines.append(
                StatementLine(
                    seq=row.seq,
                    entry_id=row.entry.id,
                    kind=row.entry.kind,
                    occurred_at=row.entry.occurred_at,
                    memo=row.entry.memo,
                    amount=row.amount,
                    balance_after=row.balance_after,
                )
            )
            if len(lines) == limit:
                break
        return lines

    def derived_balance(self, account_id: AccountId, currency: Currency) -> Money:
        return Money(sum(r.amount.minor for r in self._s.postings if r.account_id == account_id), currency)

    def entries_between(
        self, from_at: datetime, to_at: datetime, *, after: EntryCursor | None, limit: int
    ) -> list[JournalEntry]:
        if limit <= 0:
            return []
        chosen = [
            entry
            for entry in self._s.entries.values()
            if from_at <= entry.occurred_at < to_at
            and (after is None or (entry.occurred_at, entry.id) > (after.occurred_at, after.entry_id))
        ]
        chosen.sort(key=lambda entry: (entry.occurred_at, entry.id))
        return chosen[:limit]


class _Snapshots(_Part):
    def add(self, snapshot_id: SnapshotId, taken_at: datetime, lines: Iterable[SnapshotLine]) -> None:
        rows = [(snapshot_id, taken_at, line) for line in lines]
        self._s.snapshots.extend(rows)
        count = len(rows)

        def undo() -> None:
            if count:
                del self._s.snapshots[-count:]

        self._uow.on_rollback(undo)

    def latest_at_or_before(self, at: datetime) -> StoredSnapshot | None:
        taken = {(taken_at, sid) for sid, taken_at, _ in self._s.snapshots if taken_at <= at}
        if not taken:
            return None
        taken_at, snapshot_id = max(taken)
        lines = sorted(
            (line for sid, _, line in self._s.snapshots if sid == snapshot_id), key=lambda line: line.account_id
        )
        return StoredSnapshot(snapshot_id=snapshot_id, taken_at=taken_at, lines=tuple(lines))


class _Users(_Part):
    def add(self, user: User) -> None:
        if user.handle in self._s.handles:
            raise HandleTaken(user.handle)
        self._s.users[user.id] = _copy(user)
        self._s.handles[user.handle] = user.id

        def undo() -> None:
            del self._s.users[user.id]
            del self._s.handles[user.handle]

        self._uow.on_rollback(undo)

    def get(self, user_id: UserId) -> User:
        try:
            return _copy(self._s.users[user_id])
        except KeyError:
            raise UserNotFound(user_id) from None

    def by_handle(self, handle: str) -> User | None:
        uid = self._s.handles.get(handle)
        return None if uid is None else self.get(uid)

    def user_exists(self, user_id: str) -> bool:
        return user_id in self._s.users

    def any_exist(self) -> bool:
        return bool(self._s.users)


class _Tokens(_Part):
    def add(self, token: ApiToken) -> None:
        self._s.tokens[token.id] = _copy(token)
        self._s.token_hashes[token.token_hash] = token.id

        def undo() -> None:
            del self._s.tokens[token.id]
            del self._s.token_hashes[token.token_hash]

        self._uow.on_rollback(undo)

    def get(self, token_id: TokenId) -> ApiToken:
        try:
            return _copy(self._s.tokens[token_id])
        except KeyError:
            raise TokenNotFound(token_id) from None

    def by_hash(self, token_hash: str) -> ApiToken | None:
        tid = self._s.token_hashes.get(token_hash)
        return None if tid is None else self.get(tid)

    def lock(self, token_id: TokenId) -> ApiToken:
        return self.get(token_id)  # the store lock already serialises transactions

    def save(self, token: ApiToken) -> None:
        previous = self._s.tokens[token.id]
        self._s.tokens[token.id] = _copy(token)

        def undo() -> None:
            self._s.tokens[token.id] = previous

        self._uow.on_rollback(undo)


@attrs.define
class _Claim:
    command: str
    fingerprint: str
    at: datetime
    result: object = _PENDING


class _Idempotency(_Part):
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
        stored = self._s.idempotency.get((scope, key))
        if stored is None:
            self._s.idempotency[(scope, key)] = _Claim(command, fingerprint, at)

            def undo() -> None:
                del self._s.idempotency[(scope, key)]

            self._uow.on_rollback(undo)
            return None
        if stored.command != command or stored.fingerprint != fingerprint:
            raise IdempotencyKeyReused(key, stored.command)
        if stored.result is _PENDING:
            raise ConcurrentUpdate(f"idempotency key {key!r}")
        return stored.result  # type: ignore[return-value]  # stored by the same command

    def complete(self, scope: str, key: IdempotencyKey, result: object) -> None:
        stored = self._s.idempotency[(scope, key)]
        stored.result = result

        def undo() -> None:
            stored.result = _PENDING

        self._uow.on_rollback(undo)


class _Audit(_Part):
    def append(self, draft: AuditDraft) -> AuditRecord:
        chain = chain_for(draft.id, self._s.audit_chains)
        records = self._s.audit.setdefault(chain, [])
        prev = records[-1].hash if records else GENESIS_HASH
        record = seal(draft, chain=chain, seq=len(records) + 1, prev_hash=prev)
        records.append(record)
        self._uow.on_rollback(lambda: records.remove(record))
        return record


class _AuditLog(_Part):
    def heads(self) -> list[ChainHead]:
        return [
            ChainHead(chain=c, last_seq=len(rs), last_hash=rs[-1].hash) for c, rs in sorted(self._s.audit.items()) if rs
        ]

    def records(self, chain: int, *, after_seq: int, limit: int) -> list[AuditRecord]:
        return [r for r in self._s.audit.get(chain, []) if r.seq > after_seq][:limit]


class _Outbox(_Part):
    def add(self, events: Iterable[DomainEvent]) -> None:
        rows = [OutboxRow(next(self._s.seq), e) for e in events]
        self._s.outbox.extend(rows)
        count = len(rows)

        def undo() -> None:
            if count:
                del self._s.outbox[-count:]

        self._uow.on_rollback(undo)


class _Contracts(_Part):
    # Contracts hold mutable milestones: copies are deep, so nothing loaded aliases the store.
    def add(self, contract: Contract) -> None:
        if contract.id in self._s.contracts:
            raise ValueError(f"contract {contract.id} exists already")
        self._s.contracts[contract.id] = copy.deepcopy(contract)

        def undo() -> None:
            del self._s.contracts[contract.id]

        self._uow.on_rollback(undo)

    def get(self, contract_id: ContractId) -> Contract:
        try:
            return copy.deepcopy(self._s.contracts[contract_id])
        except KeyError:
            raise ContractNotFound(contract_id) from None

    def lock(self, contract_id: ContractId) -> Contract:
        return self.get(contract_id)  # the store lock already serialises transactions

    def save(self, contract: Contract) -> None:
        stored = self._s.contracts.get(contract.id)
        if stored is None:
            raise ContractNotFound(contract.id)
        if stored.version != contract.version:
            raise ConcurrentUpdate(f"contract {contract.id}")
        contract.version += 1
        self._s.contracts[contract.id] = copy.deepcopy(contract)

        def undo() -> None:
            self._s.contracts[contract.id] = stored

        self._uow.on_rollback(undo)


class _Payouts(_Part):
    def add(self, payout: Payout) -> None:
        if payout.id in self._s.payouts:
            raise ValueError(f"payout {payout.id} exists already")
        self._s.payouts[payout.id] = _copy(payout)

        def undo() -> None:
            del self._s.payouts[payout.id]

        self._uow.on_rollback(undo)

    def get(self, payout_id: PayoutId) -> Payout:
        try:
            return _copy(self._s.payouts[payout_id])
        except KeyError:
            raise PayoutNotFound(payout_id) from None

    def lock(self, payout_id: PayoutId) -> Payout:
        return self.get(payout_id)

    def save(self, payout: Payout) -> None:
        stored = self._s.payouts.get(payout.id)
        if stored is None:
            raise PayoutNotFound(payout.id)
        if stored.version != payout.version:
            raise ConcurrentUpdate(f"payout {payout.id}")
        payout.version += 1
        self._s.payouts[payout.id] = _copy(payout)

        def undo() -> None:
            self._s.payouts[payout.id] = stored

        self._uow.on_rollback(undo)


class _Parties(_Part):
    def personas(self, user_id: str) -> frozenset[Persona] | None:
        user = self._s.users.get(UserId(user_id))
        return None if user is None else user.personas


class _Timers(_Part):
    def schedule(self, timer: Timer) -> None:
        if timer.id in self._s.timers:
            return
        self._s.timers[timer.id] = TimerRow(timer)

        def undo() -> None:
            del self._s.timers[timer.id]

        self._uow.on_rollback(undo)

    def due(self, now: datetime, *, kinds: Collection[str], limit: int) -> list[Timer]:
        wanted = frozenset(kinds)
        rows = [
            r.timer
            for r in self._s.timers.values()
            if r.fired_at is None and r.timer.kind in wanted and r.timer.due_at <= now
        ]
        return sorted(rows, key=lambda t: (t.due_at, t.id))[: max(limit, 0)]

    def claim(self, timer_id: str) -> Timer | None:
        row = self._s.timers.get(timer_id)
        return None if row is None or row.fired_at is not None else row.timer

    def mark_fired(self, timer_id: str, *, at: datetime, outcome: str) -> None:
        row = self._s.timers[timer_id]
        previous = (row.fired_at, row.outcome)
        row.fired_at, row.outcome = at, outcome

        def undo() -> None:
            row.fired_at, row.outcome = previous

        self._uow.on_rollback(undo)

    def postpone(self, timer_id: str, *, until: datetime) -> None:
        row = self._s.timers.get(timer_id)
        if row is None or row.fired_at is not None:
            return
        previous = row.timer
        row.timer = attrs.evolve(previous, due_at=until)

        def undo() -> None:
            row.timer = previous

        self._uow.on_rollback(undo)


class _OutboxFeed(_Part):
    def pending(self, *, limit: int) -> list[EventEnvelope]:
        rows = [r for r in self._s.outbox if r.published_at is None][: max(limit, 0)]
        return [r.envelope() for r in rows]

    def mark_published(self, seqs: Collection[int], *, at: datetime) -> None:
        wanted = frozenset(seqs)
        changed = [r for r in self._s.outbox if r.seq in wanted and r.published_at is None]
        for row in changed:
            row.published_at = at

        def undo() -> None:
            for row in changed:
                row.published_at = None

        self._uow.on_rollback(undo)

    def stats(self) -> OutboxStats:
        pending = [r for r in self._s.outbox if r.published_at is None]
        return OutboxStats(
            pending=len(pending),
            oldest_pending_at=min((r.event.occurred_at for r in pending), default=None),
            published=len(self._s.outbox) - len(pending),
        )


class _Inbox(_Part):
    def accept(self, consumer: str, event_id: str, *, at: datetime) -> bool:
        key = (consumer, event_id)
        if key in self._s.inbox:
            return False
        self._s.inbox[key] = at
        self._uow.on_rollback(lambda: self._s.inbox.pop(key, None))
        return True

    def handled(self, consumer: str, event_id: str) -> bool:
        return (consumer, event_id) in self._s.inbox


class _DeadLetters(_Part):
    def record(self, letter: DeadLetter) -> bool:
        key = (letter.consumer, letter.event_id)
        if key in self._s.dead_letters:
            return False
        self._s.dead_letters[key] = letter
        self._uow.on_rollback(lambda: self._s.dead_letters.pop(key, None))
        return True

    def list(self, *, limit: int, consumer: str | None = None, before_id: str | None = None) -> list[DeadLetter]:
        letters = sorted(self._s.dead_letters.values(), key=lambda d: d.id, reverse=True)
        return [
            d
            for d in letters
            if (consumer is None or d.consumer == consumer) and (before_id is None or d.id < before_id)
        ][: max(limit, 0)]

    def count(self) -> int:
        return len(self._s.dead_letters)


class _Heartbeats(_Part):
    def beat(self, heartbeat: Heartbeat) -> None:
        previous = self._s.heartbeats.get(heartbeat.worker_id)
        self._s.heartbeats[heartbeat.worker_id] = heartbeat

        def undo() -> None:
            if previous is None:
                self._s.heartbeats.pop(heartbeat.worker_id, None)
            else:
                self._s.heartbeats[heartbeat.worker_id] = previous

        self._uow.on_rollback(undo)

    def latest(self) -> Heartbeat | None:
        return max(self._s.heartbeats.values(), key=lambda h: h.beat_at, default=None)


class _Leases(_Part):
    def acquire(self, name: str, *, holder: str, now: datetime, until: datetime) -> bool:
        current = self._s.leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._s.leases[name] = (holder, until)
        self._uow.on_rollback(lambda: self._restore(name, current))
        return True

    def release(self, name: str, *, holder: str) -> None:
        current = self._s.leases.get(name)
        if current is not None and current[0] == holder:
            del self._s.leases[name]
            self._uow.on_rollback(lambda: self._restore(name, current))

    def _restore(self, name: str, previous: tuple[str, datetime] | None) -> None:
        if previous is None:
            self._s.leases.pop(name, None)
        else:
            self._s.leases[name] = previous


if TYPE_CHECKING:  # mypy proves the adapter fits the ports (the contract tests prove behaviour)
    from core.notifications.ports import NotificationsUnitOfWork

    def _fits_notifications(uow: MemoryUnitOfWork) -> NotificationsUnitOfWork:
        return uow

    from core.escrow.ports import EscrowUnitOfWork
    from core.messaging.ports import MessagingUnitOfWork

    def _fits_messaging(uow: MemoryUnitOfWork) -> MessagingUnitOfWork:
        return uow

    from core.identity.ports import IdentityUnitOfWork
    from core.ledger.ports import LedgerUnitOfWork

    def _fits_escrow(uow: MemoryUnitOfWork) -> EscrowUnitOfWork:
        return uow

    def _fits_identity(uow: MemoryUnitOfWork) -> IdentityUnitOfWork:
        return uow

    def _fits_ledger(uow: MemoryUnitOfWork) -> LedgerUnitOfWork:
        return uow

    from core.payments.ports import PaymentsUnitOfWork

    def _fits_payments(uow: MemoryUnitOfWork) -> PaymentsUnitOfWork:
        return uow

    from core.payments.ports import PayoutDestinationsUnitOfWork

    def _fits_payout_destinations(uow: MemoryUnitOfWork) -> PayoutDestinationsUnitOfWork:
        return uow
