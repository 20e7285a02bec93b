"""Accounts and journal entries of the double-entry ledger.

Sign convention: an account's balance is the sum of its postings. Crediting a user's
wallet posts a positive amount to it and the same negative amount to the platform account
the money came from, so the balances of all accounts in one currency always sum to zero.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from attrs import define, field, frozen

from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import AccountId, EntryId, SnapshotId, UserId
from core.shared.money import MAX_MOVEMENT, Currency, CurrencyMismatch, Money

PLATFORM_OWNER = "platform"


class Actions:
    """The actions of this context, as named in the authorisation policy."""

    OPEN_WALLET = "ledger.wallet.open"
    OPEN_WALLET_FOR_ANYONE = "ledger.wallet.open_any"
    READ_WALLET = "ledger.wallet.read"
    READ_ANY_WALLET = "ledger.wallet.read_any"
    DEPOSIT_SANDBOX = "ledger.deposit.sandbox"
    DEPOSIT_SANDBOX_ANY = "ledger.deposit.sandbox_any"
    TRANSFER = "ledger.transfer"
    TAKE_SNAPSHOTS = "ledger.snapshots.take"
    EXPORT_JOURNAL = "ledger.journal.export"

    ALL: ClassVar[frozenset[str]] = frozenset(
        {
            OPEN_WALLET,
            OPEN_WALLET_FOR_ANYONE,
            READ_WALLET,
            READ_ANY_WALLET,
            DEPOSIT_SANDBOX,
            DEPOSIT_SANDBOX_ANY,
            TRANSFER,
            TAKE_SNAPSHOTS,
            EXPORT_JOURNAL,
        }
    )


class BalanceRule(enum.Enum):
    NON_NEGATIVE = "non_negative"  # checked on every posting, under a row lock
    UNBOUNDED = "unbounded"  # may go negative; no check, no lock


class AccountKind(enum.Enum):
    """What an account is for. The kind fixes its balance rule and whether a running
    balance is kept on the account row.

    Hot platform accounts are touched by many concurrent transactions (every deposit
    debits the gateway clearing account, every release credits fee revenue); keeping a
    running balance on them would queue every transaction on one row lock. Their balance
    is derived from postings instead (DESIGN-NOTES, "Hot accounts"; ADR 0007). An escrow
    account is owned by the platform too, but there is one per milestone, so it is not
    hot: it keeps a running balance that must never go below zero, like a wallet."""

    WALLET = "wallet"  # a user's available money, per currency
    WALLET_PENDING = "wallet_pending"  # released earnings still in their clearing period
    ESCROW = "escrow"  # money held for one milestone (label = milestone id)
    PAYOUT_IN_TRANSIT = "payout_in_transit"  # requested payouts not yet paid or failed
    GATEWAY_CLEARING = "gateway_clearing"  # the other side of money entering or leaving
    FEE_REVENUE = "fee_revenue"  # the platform's fees

    @property
    def rule(self) -> BalanceRule:
        return BalanceRule.NON_NEGATIVE if self.keeps_running_balance else BalanceRule.UNBOUNDED

    @property
    def keeps_running_balance(self) -> bool:
        return self in _RUNNING_BALANCE_KINDS

    @property
    def is_platform(self) -> bool:
        """Owned by the platform (``PLATFORM_OWNER``), not by a user."""
        return self in _PLATFORM_KINDS


_RUNNING_BALANCE_KINDS = frozenset(
    {AccountKind.WALLET, AccountKind.WALLET_PENDING, AccountKind.ESCROW, AccountKind.PAYOUT_IN_TRANSIT}
)
_PLATFORM_KINDS = frozenset({AccountKind.ESCROW, AccountKind.GATEWAY_CLEARING, AccountKind.FEE_REVENUE})


@frozen
class AccountNotFound(DomainError):
    code: ClassVar[str] = "account_not_found"
    title: ClassVar[str] = "No such account"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    account_id: str

    @property
    def detail(self) -> str:
        return f"account {self.account_id} does not exist"


@frozen
class WalletNotFound(DomainError):
    """Also raised for a wallet that exists but is not the actor's to see: its existence
    must not leak."""

    code: ClassVar[str] = "wallet_not_found"
    title: ClassVar[str] = "No such wallet"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    wallet_id: str

    @property
    def detail(self) -> str:
        return f"wallet {self.wallet_id} does not exist"


@frozen
class OwnerNotFound(DomainError):
    code: ClassVar[str] = "owner_not_found"
    title: ClassVar[str] = "No such user"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND
    owner_id: str

    @property
    def detail(self) -> str:
        return f"user {self.owner_id} does not exist"


@frozen
class WalletAlreadyOpen(DomainError):
    code: ClassVar[str] = "wallet_already_open"
    title: ClassVar[str] = "A wallet in this currency is already open"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    owner_id: str
    currency: str
    wallet_id: str

    @property
    def detail(self) -> str:
        return f"{self.owner_id} already has a {self.currency} wallet: {self.wallet_id}"


@frozen
class AccountAlreadyExists(DomainError):
    """Raised by ``Accounts.add`` when the (owner, kind, currency, label) slot is taken."""

    code: ClassVar[str] = "account_already_exists"
    title: ClassVar[str] = "The account already exists"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT
    owner_id: str
    kind: str
    currency: str

    @property
    def detail(self) -> str:
        return f"{self.owner_id} already has a {self.currency} {self.kind} account"


@frozen
class InsufficientFunds(DomainError):
    code: ClassVar[str] = "insufficient_funds"
    title: ClassVar[str] = "The wallet's available balance is too low"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    account_id: str
    available: Money
    requested: Money

    @property
    def detail(self) -> str:
        return f"{self.account_id} has {self.available} available; {self.requested} was requested"


@frozen
class EntryNotBalanced(DomainError):
    code: ClassVar[str] = "entry_not_balanced"
    title: ClassVar[str] = "A journal entry must balance in every currency"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID
    currency: str
    imbalance_minor: int

    @property
    def detail(self) -> str:
        return f"postings in {self.currency} sum to {self.imbalance_minor}, not zero"


@frozen
class SandboxDepositsDisabled(DomainError):
    code: ClassVar[str] = "sandbox_deposits_disabled"
    title: ClassVar[str] = "Sandbox deposits are switched off on this installation"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE


@define(eq=False)
class Account:
    """A ledger account: one owner, one currency, one kind.

    ``balance`` is the running balance for kinds that keep one; for platform kinds it is
    not maintained (always zero here) and the balance is derived from postings.
    ``version`` guards the running balance against lost updates."""

    id: AccountId
    owner_id: str
    kind: AccountKind
    currency: Currency
    label: str
    opened_at: datetime
    balance: Money
    version: int = 0

    @classmethod
    def open(
        cls, *, id: AccountId, owner_id: str, kind: AccountKind, currency: Currency, label: str, at: datetime
    ) -> Account:
        return cls(id, owner_id, kind, currency, label, at, Money.zero(currency))

    def apply(self, amount: Money) -> Money | None:
        """Apply one posting; returns the new running balance (None where none is kept).

        Raises CurrencyMismatch, InsufficientFunds."""
        if amount.currency != self.currency:
            raise CurrencyMismatch(self.currency.code, amount.currency.code)
        if not self.kind.keeps_running_balance:
            return None
        after = self.balance.plus(amount)
        if self.kind.rule is BalanceRule.NON_NEGATIVE and after.is_negative:
            raise InsufficientFunds(self.id, self.balance, amount.negated())
        self.balance = after
        return after


class EntryKind(enum.Enum):
    DEPOSIT = "deposit"
    TRANSFER = "transfer"
    ESCROW_FUND = "escrow_fund"  # client wallet -> milestone escrow
    ESCROW_RELEASE = "escrow_release"  # escrow -> provider pending (net) + fee revenue
    ESCROW_REFUND = "escrow_refund"  # escrow -> client wallet
    ESCROW_SETTLEMENT = "escrow_settlement"  # a dispute hold split between both parties
    CLEARING = "clearing"  # provider pending -> provider wallet, after the hold period
    PAYOUT_REQUEST = "payout_request"  # wallet -> payout in transit
    PAYOUT_PAID = "payout_paid"  # payout in transit -> gateway clearing
    PAYOUT_FAILED = "payout_failed"  # payout in transit -> wallet
    PAYMENT_CAPTURE = "payment_capture"  # gateway clearing -> wallet (a provider captured a payment)
    PAYMENT_REFUND = "payment_refund"  # wallet -> gateway clearing (a refund to the payer)
    PAYMENT_REFUND_REVERSAL = "payment_refund_reversal"  # a failed refund: gateway clearing -> wallet
    PAYMENT_CAPTURE_CORRECTION = "payment_capture_correction"  # a lower capture reported later: wallet -> clearing


@frozen
class Posting:
    account_id: AccountId
    amount: Money = field()

    @amount.validator
    def _movement(self, _attr: object, value: Money) -> None:
        if value.minor == 0:
            raise InvalidInput("amount", "a posting moves a non-zero amount")
        if abs(value.minor) > MAX_MOVEMENT:
            raise InvalidInput("amount", f"one movement is at most {MAX_MOVEMENT} minor units")


def _balanced(_inst: object, _attr: object, postings: tuple[Posting, ...]) -> None:
    if len(postings) < 2:
        raise InvalidInput("postings", "a journal entry has at least two postings")
    if len({p.account_id for p in postings}) != len(postings):
        raise InvalidInput("postings", "an account appears at most once per entry")
    totals: dict[Currency, int] = defaultdict(int)
    for p in postings:
        totals[p.amount.currency] += p.amount.minor
    for currency, total in sorted(totals.items()):
        if total != 0:
            raise EntryNotBalanced(currency.code, total)


MAX_MEMO = 280


def _memo(_inst: object, _attr: object, value: str) -> None:
    if len(value) > MAX_MEMO:
        raise InvalidInput("memo", f"at most {MAX_MEMO} characters")
    if any(ord(c) < 32 and c not in "\t" for c in value) or "\x7f" in value:
        raise InvalidInput("memo", "control characters are not allowed")


@frozen(kw_only=True)
class JournalEntry:
    """An append-only, balanced set of postings. Never updated, never deleted: a mistake
    is corrected by a new, reversing entry."""

    id: EntryId
    kind: EntryKind
    occurred_at: datetime
    initiated_by: str
    memo: str = field(default="", validator=_memo)
    postings: tuple[Posting, ...] = field(validator=_balanced)


def apply_entry(entry: JournalEntry, accounts: Mapping[AccountId, Account]) -> dict[AccountId, Money | None]:
    """Apply every posting of ``entry`` to its (loaded, and where needed locked) account.

    All-or-nothing at the unit-of-work level: on an error the caller's transaction is
    rolled back. Raises AccountNotFound, CurrencyMismatch, InsufficientFunds."""
    after: dict[AccountId, Money | None] = {}
    for posting in entry.postings:
        account = accounts.get(posting.account_id)
        if account is None:
            raise AccountNotFound(posting.account_id)
        after[posting.account_id] = account.apply(posting.amount)
    return after


@frozen(kw_only=True)
class StatementLine:
    seq: int
    entry_id: EntryId
    kind: EntryKind
    occurred_at: datetime
    memo: str
    amount: Money
    balance_after: Money | None


@frozen(kw_only=True)
class AccountBalance:
    account_id: AccountId
    owner_id: str
    kind: AccountKind
    balance: Money


@frozen(kw_only=True)
class WalletOpened(DomainEvent):
    name: ClassVar[str] = "ledger.wallet_opened"
    wallet_id: AccountId
    owner_id: UserId
    currency: str


@frozen(kw_only=True)
class FundsDeposited(DomainEvent):
    name: ClassVar[str] = "ledger.funds_deposited"
    entry_id: EntryId
    wallet_id: AccountId
    amount: Money
    source: str


@frozen(kw_only=True)
class FundsTransferred(DomainEvent):
    name: ClassVar[str] = "ledger.funds_transferred"
    entry_id: EntryId
    from_wallet_id: AccountId
    to_wallet_id: AccountId
    amount: Money


@frozen(kw_only=True)
class BalanceSnapshotTaken(DomainEvent):
    name: ClassVar[str] = "ledger.balance_snapshot_taken"
    snapshot_id: SnapshotId
    accounts: int


@frozen(kw_only=True)
class WalletView:
    """A wallet as its owner (or staff) sees it."""

    wallet_id: AccountId
    owner_id: str
    currency: str
    balance: Money
    opened_at: datetime

    @classmethod
    def of(cls, account: Account) -> WalletView:
        return cls(
            wallet_id=account.id,
            owner_id=account.owner_id,
            currency=account.currency.code,
            balance=account.balance,
            opened_at=account.opened_at,
        )
