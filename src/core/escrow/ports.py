"""What escrow needs from the outside world.

Lock order, the same in every use case so that two never deadlock: the idempotency key
(claimed by ``CommandRunner``), then the timer (``Timers.claim``), then the contract or
the payout row, then the ledger accounts (``Book.post``, ascending id), then the audit
chain head (last).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from core.escrow.domain import (  # noqa: F401  (named in the docstrings)
    Contract,
    ContractId,
    ContractNotFound,
    Payout,
    PayoutId,
    PayoutNotFound,
)
from core.shared.actor import Persona
from core.shared.errors import ConcurrentUpdate  # noqa: F401
from core.shared.gateways import GatewayDeclined, GatewayUnavailable  # noqa: F401
from core.shared.ids import AccountId, EntryId
from core.shared.money import Currency, Money
from core.shared.timers import Timers
from core.shared.unit_of_work import UnitOfWork

PLATFORM = "platform"  # the owner of platform accounts (escrow, fee revenue, clearing)


class AccountKinds:
    """The ledger account kinds escrow posts to, by their ledger names."""

    WALLET = "wallet"  # a user's available money
    WALLET_PENDING = "wallet_pending"  # released earnings in their clearing period
    ESCROW = "escrow"  # one per milestone, owned by the platform, label = milestone id
    PAYOUT_IN_TRANSIT = "payout_in_transit"
    FEE_REVENUE = "fee_revenue"
    GATEWAY_CLEARING = "gateway_clearing"  # label = the gateway's name


class EntryKinds:
    """The journal entry kinds escrow posts, by their ledger names."""

    ESCROW_FUND = "escrow_fund"
    ESCROW_RELEASE = "escrow_release"
    ESCROW_REFUND = "escrow_refund"
    ESCROW_SETTLEMENT = "escrow_settlement"
    CLEARING = "clearing"
    PAYOUT_REQUEST = "payout_request"
    PAYOUT_PAID = "payout_paid"
    PAYOUT_FAILED = "payout_failed"


class Book(Protocol):
    """Escrow's view of the double-entry ledger, bound to the current unit of work: the
    entry commits or rolls back with the escrow state change that caused it.

    Concurrency: ``post`` locks the accounts with a running balance it touches (wallets,
    pending, escrow, in transit) until the transaction ends, in ascending id order, in
    one statement; hot platform accounts (fee revenue, gateway clearing) are never locked.
    """

    def account(self, *, owner_id: str, kind: str, currency: Currency, label: str = "", at: datetime) -> AccountId:
        """Get or open the (owner, kind, currency, label) account. Platform kinds belong
        to ``PLATFORM``. Raises InvalidInput for an unknown kind or a misfit owner."""
        ...

    def find_account(self, *, owner_id: str, kind: str, currency: Currency, label: str = "") -> AccountId | None:
        """The account if it was ever opened; opens nothing."""
        ...

    def post(
        self,
        *,
        kind: str,
        memo: str,
        initiated_by: str,
        legs: Sequence[tuple[AccountId, Money]],
        at: datetime,
    ) -> EntryId:
        """Post one balanced entry (legs of zero are left out). Raises the ledger's
        InsufficientFunds if a non-negative account would go below zero (escrow lets it
        propagate), EntryNotBalanced, CurrencyMismatch, AccountNotFound."""
        ...

    def balance(self, account_id: AccountId) -> Money:
        """The account's balance (running, or summed from postings). Raises
        AccountNotFound."""
        ...


class Contracts(Protocol):
    """Contract aggregates (with their milestones) inside one unit of work."""

    def add(self, contract: Contract) -> None: ...

    def get(self, contract_id: ContractId) -> Contract:
        """Read without a lock. Raises ContractNotFound."""
        ...

    def lock(self, contract_id: ContractId) -> Contract:
        """Read and lock the contract (SQL: its row ``FOR UPDATE``; the milestone rows
        are written only under it) until the transaction ends. Raises ContractNotFound."""
        ...

    def save(self, contract: Contract) -> None:
        """Persist a changed contract and all its milestones, guarded by ``version``
        (which it bumps). Raises ConcurrentUpdate if the stored version moved."""
        ...


class Payouts(Protocol):
    """Payout aggregates inside one unit of work."""

    def add(self, payout: Payout) -> None: ...

    def get(self, payout_id: PayoutId) -> Payout:
        """Read without a lock. Raises PayoutNotFound."""
        ...

    def lock(self, payout_id: PayoutId) -> Payout:
        """Read and lock the payout until the transaction ends. Raises PayoutNotFound."""
        ...

    def save(self, payout: Payout) -> None:
        """Persist a changed payout guarded by ``version`` (which it bumps). Raises
        ConcurrentUpdate if the stored version moved."""
        ...


class Parties(Protocol):
    """Escrow's view of the identity context: who a user is."""

    def personas(self, user_id: str) -> frozenset[Persona] | None:
        """The user's personas, or None if there is no such user."""
        ...


class PayoutGateway(Protocol):
    """Sends money out of the platform to a payee.

    Must be idempotent per ``idempotency_key`` (the payout id): a repeated call never
    pays twice and answers what the first call did (the same reference, or the same
    decline). Raises GatewayDeclined (final for the key: do not retry) or
    GatewayUnavailable (outcome unknown: retry with the same key). Never raises SDK or
    HTTP-client exceptions. Never called inside a unit of work.
    """

    @property
    def name(self) -> str:
        """A short, stable name; it labels the gateway's clearing account."""
        ...

    def send(self, payout_id: str, payee: str, amount: Money, *, idempotency_key: str) -> str:
        """Returns the gateway's reference for the payment."""
        ...


class EscrowUnitOfWork(UnitOfWork, Protocol):
    @property
    def contracts(self) -> Contracts: ...

    @property
    def payouts(self) -> Payouts: ...

    @property
    def parties(self) -> Parties: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def book(self) -> Book: ...
