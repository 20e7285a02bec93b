"""What the ledger needs from the outside world."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from attrs import frozen

from core.ledger.domain import (  # noqa: F401  (named in the docstrings)
    Account,
    AccountAlreadyExists,
    AccountBalance,
    AccountKind,
    AccountNotFound,
    JournalEntry,
    StatementLine,
)
from core.shared.errors import ConcurrentUpdate  # noqa: F401
from core.shared.ids import AccountId, SnapshotId
from core.shared.money import Currency, Money
from core.shared.unit_of_work import UnitOfWork


class Accounts(Protocol):
    """Ledger accounts inside one unit of work."""

    def add(self, account: Account) -> None:
        """Raises AccountAlreadyExists if (owner, kind, currency, label) is taken, also
        when a concurrent transaction took it first."""
        ...

    def get(self, account_id: AccountId) -> Account:
        """Read without a lock. Raises AccountNotFound."""
        ...

    def lock(self, account_ids: Collection[AccountId]) -> dict[AccountId, Account]:
        """Load and lock accounts that keep a running balance until the transaction ends,
        always in ascending id order (so two transfers never deadlock). Raises
        AccountNotFound naming the first missing id."""
        ...

    def find(self, *, owner_id: str, kind: AccountKind, currency: Currency, label: str = "") -> Account | None: ...

    def of_owner(self, owner_id: str, kind: AccountKind) -> list[Account]:
        """The owner's accounts of one kind, ordered by currency."""
        ...

    def ensure_platform(self, kind: AccountKind, currency: Currency, label: str, *, at: datetime) -> Account:
        """The platform account for (kind, currency, label), opened on first use. Safe
        under concurrency: two transactions opening it at once both get the same account."""
        ...

    def save_balances(self, accounts: Iterable[Account]) -> None:
        """Persist the running balances of locked accounts, each guarded by its version.
        Raises ConcurrentUpdate if a version moved (a lost update was prevented)."""
        ...

    def balances(self) -> list[AccountBalance]:
        """Every account's balance (running or derived), read in one consistent snapshot
        of the store, so that per currency they sum to zero."""
        ...


class Journal(Protocol):
    """The append-only journal of balanced entries."""

    def append(self, entry: JournalEntry, balances_after: Mapping[AccountId, Money | None]) -> None:
        """Store the entry and its postings, each with the account's running balance
        after it where the account keeps one."""
        ...

    def statement(self, account_id: AccountId, *, before_seq: int | None, limit: int) -> list[StatementLine]:
        """Postings of one account, newest first, strictly older than ``before_seq``."""
        ...

    def derived_balance(self, account_id: AccountId, currency: Currency) -> Money:
        """The sum of the account's postings (for accounts without a running balance)."""
        ...

    def entries_between(
        self, from_at: datetime, to_at: datetime, *, after: EntryCursor | None, limit: int
    ) -> list[JournalEntry]:
        """Entries with ``from_at <= occurred_at < to_at``, each with its postings in the
        order they were appended, ordered by (occurred_at, id), strictly after the cursor
        ``after`` (keyset paging); at most ``limit`` of them."""
        ...


@frozen(kw_only=True)
class EntryCursor:
    """Where a page of ``Journal.entries_between`` ended: the last entry's key."""

    occurred_at: datetime
    entry_id: str


@frozen(kw_only=True)
class SnapshotLine:
    account_id: AccountId
    balance: Money


@frozen(kw_only=True)
class StoredSnapshot:
    snapshot_id: SnapshotId
    taken_at: datetime
    lines: tuple[SnapshotLine, ...]  # ordered by account id


class BalanceSnapshots(Protocol):
    def add(self, snapshot_id: SnapshotId, taken_at: datetime, lines: Iterable[SnapshotLine]) -> None: ...

    def latest_at_or_before(self, at: datetime) -> StoredSnapshot | None:
        """The snapshot taken last at or before ``at`` (ties: the greatest id), with its
        lines; None when there is none. An empty snapshot stores no line, so it is not found."""
        ...


class UserDirectory(Protocol):
    """The ledger's view of the identity context: does a user exist?"""

    def user_exists(self, user_id: str) -> bool: ...


class LedgerUnitOfWork(UnitOfWork, Protocol):
    @property
    def accounts(self) -> Accounts: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def snapshots(self) -> BalanceSnapshots: ...

    @property
    def users(self) -> UserDirectory: ...
