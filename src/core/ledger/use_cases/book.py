"""The ledger as a book other contexts post to, inside their own unit of work.

Escrow (and later payments) move money but must not know the ledger's entities: each
declares a small ``Book`` port of its own, in plain terms (account kinds by their string
values, legs as ``(account id, amount)``), and the composition root hands it this class,
bound to the same unit of work as the caller's aggregates, so the money movement and the
state change commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.ledger.domain import (
    PLATFORM_OWNER,
    Account,
    AccountAlreadyExists,
    AccountKind,
    EntryKind,
    JournalEntry,
    Posting,
    apply_entry,
)
from core.ledger.ports import LedgerUnitOfWork
from core.shared.errors import InvalidInput
from core.shared.ids import AccountId, EntryId, new_id
from core.shared.money import Currency, Money


class LedgerBook:
    """Get-or-open accounts, post balanced entries and read balances in ``uow``'s
    transaction. Never commits: the caller's unit of work does."""

    def __init__(self, uow: LedgerUnitOfWork) -> None:
        self._uow = uow

    def account(self, *, owner_id: str, kind: str, currency: Currency, label: str = "", at: datetime) -> AccountId:
        """The (owner, kind, currency, label) account, opened on first use.

        Platform kinds (``escrow``, ``fee_revenue``, ``gateway_clearing``) belong to
        ``"platform"``; user kinds to a user. Safe under concurrency: two transactions
        opening the same account both get the one that was stored.

        Raises:
            InvalidInput: an unknown kind, or an owner that does not fit the kind.
        """
        account_kind = _kind(kind)
        accounts = self._uow.accounts
        if account_kind.is_platform:
            if owner_id != PLATFORM_OWNER:
                raise InvalidInput("owner_id", f"{kind} accounts belong to {PLATFORM_OWNER!r}")
            return accounts.ensure_platform(account_kind, currency, label, at=at).id
        if owner_id == PLATFORM_OWNER:
            raise InvalidInput("owner_id", f"{kind} accounts belong to a user")
        existing = accounts.find(owner_id=owner_id, kind=account_kind, currency=currency, label=label)
        if existing is not None:
            return existing.id
        prefix = "wal" if account_kind is AccountKind.WALLET else "acc"
        account = Account.open(
            id=AccountId(new_id(prefix)), owner_id=owner_id, kind=account_kind, currency=currency, label=label, at=at
        )
        try:
            accounts.add(account)
        except AccountAlreadyExists:
            # A concurrent transaction opened it between find and add (and committed).
            winner = accounts.find(owner_id=owner_id, kind=account_kind, currency=currency, label=label)
            if winner is None:
                raise
            return winner.id
        return account.id

    def find_account(self, *, owner_id: str, kind: str, currency: Currency, label: str = "") -> AccountId | None:
        """The account if it was ever opened; opens nothing."""
        found = self._uow.accounts.find(owner_id=owner_id, kind=_kind(kind), currency=currency, label=label)
        return None if found is None else found.id

    def post(
        self,
        *,
        kind: str,
        memo: str,
        initiated_by: str,
        legs: Sequence[tuple[AccountId, Money]],
        at: datetime,
    ) -> EntryId:
        """Post one balanced entry. Accounts with a running balance are locked in
        ascending id order (one statement), checked and updated; hot platform accounts are
        only read. Legs of zero are left out (a posting always moves money).

        Raises:
            EntryNotBalanced, InvalidInput: the legs do not form a valid entry.
            AccountNotFound: a leg names no account.
            CurrencyMismatch: a leg's currency is not its account's.
            InsufficientFunds: a non-negative account would go below zero.
        """
        entry = JournalEntry(
            id=EntryId(new_id("ent")),
            kind=_entry_kind(kind),
            occurred_at=at,
            initiated_by=initiated_by,
            memo=memo,
            postings=tuple(Posting(account_id, amount) for account_id, amount in legs if amount.minor != 0),
        )
        accounts = self._uow.accounts.lock([p.account_id for p in entry.postings])
        after = apply_entry(entry, accounts)
        self._uow.accounts.save_balances(accounts.values())
        self._uow.journal.append(entry, after)
        return entry.id

    def balance(self, account_id: AccountId) -> Money:
        """The running balance, or for hot platform accounts the sum of their postings.
        Raises AccountNotFound."""
        account = self._uow.accounts.get(account_id)
        if account.kind.keeps_running_balance:
            return account.balance
        return self._uow.journal.derived_balance(account.id, account.currency)


def _kind(value: str) -> AccountKind:
    try:
        return AccountKind(value)
    except ValueError:
        raise InvalidInput("kind", f"{value!r} is not an account kind") from None


def _entry_kind(value: str) -> EntryKind:
    try:
        return EntryKind(value)
    except ValueError:
        raise InvalidInput("kind", f"{value!r} is not a journal entry kind") from None
