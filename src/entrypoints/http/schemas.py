"""Request and response bodies of the HTTP API, as attrs classes.

They are the wire contract, kept apart from the core's commands and results: a field can
be renamed in the core without breaking a client, and ``mappers.py`` holds the explicit
translation. Field names are the JSON keys. Money is always ``{"minor": int, "currency":
"ISO"}``; request bodies are decoded strictly (``preconditions.py``), so a float, a bool or
a string is never taken for an integer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from attrs import frozen
from msgspec import UNSET, UnsetType


@frozen(kw_only=True)
class MoneyBody:
    """An exact amount: integer minor units (cents) of an ISO 4217 currency."""

    minor: int
    currency: str


# ---- requests -----------------------------------------------------------------------


@frozen(kw_only=True)
class OpenWalletRequest:
    currency: str
    owner_id: str | None = None  # staff only: open the wallet for this user


@frozen(kw_only=True)
class DepositRequest:
    amount: MoneyBody
    memo: str = ""


@frozen(kw_only=True)
class TransferRequest:
    from_wallet_id: str
    to_wallet_id: str
    amount: MoneyBody
    memo: str = ""


# ---- responses ----------------------------------------------------------------------


@frozen(kw_only=True)
class WalletResponse:
    wallet_id: str
    owner_id: str
    currency: str
    balance: MoneyBody
    opened_at: datetime


@frozen(kw_only=True)
class WalletListResponse:
    wallets: tuple[WalletResponse, ...]


@frozen(kw_only=True)
class BalanceResponse:
    wallet_id: str
    available: MoneyBody
    as_of: datetime


@frozen(kw_only=True)
class StatementLineResponse:
    entry_id: str
    kind: str
    occurred_at: datetime
    memo: str
    amount: MoneyBody
    balance_after: MoneyBody | None


@frozen(kw_only=True)
class StatementResponse:
    wallet_id: str
    balance: MoneyBody
    lines: tuple[StatementLineResponse, ...]
    next_cursor: str | None  # pass as ?cursor= for the next (older) page; null on the last page


@frozen(kw_only=True)
class DepositResponse:
    entry_id: str
    wallet_id: str
    amount: MoneyBody
    balance: MoneyBody


@frozen(kw_only=True)
class TransferResponse:
    entry_id: str
    from_wallet_id: str
    to_wallet_id: str
    amount: MoneyBody
    from_balance: MoneyBody


@frozen(kw_only=True)
class CurrencyTotalResponse:
    currency: str
    accounts: int
    total_minor: int


@frozen(kw_only=True)
class SnapshotResponse:
    snapshot_id: str
    taken_at: datetime
    totals: tuple[CurrencyTotalResponse, ...]


@frozen(kw_only=True)
class ActorResponse:
    kind: str
    id: str
    personas: tuple[str, ...]


@frozen(kw_only=True)
class LiveResponse:
    status: str


@frozen(kw_only=True)
class ReadyCheck:
    """One dependency as readiness saw it. ``status``: up, down or stale; ``required``:
    whether it being down makes the process not ready. Fields that do not apply are left
    out of the answer (``UNSET``: msgspec omits them; the worker's ``age_seconds`` is null
    when no heartbeat was ever recorded)."""

    status: str
    required: bool
    latency_ms: float | UnsetType = UNSET
    error: str | UnsetType = UNSET  # "timeout" or the failure's code or kind, never its message
    mode: str | UnsetType = UNSET  # worker: "embedded" (no broker) or "broker"
    age_seconds: float | UnsetType | None = UNSET  # worker: since the newest heartbeat
    pending: int | UnsetType = UNSET  # outbox: events not yet published
    oldest_age_seconds: float | UnsetType | None = UNSET  # outbox: the oldest of them (null: none)


@frozen(kw_only=True)
class ReadyResponse:
    """``status``: ready, not_ready (a required check is not up) or draining (shutting down)."""

    status: str
    checks: dict[str, ReadyCheck]


# ---- escrow requests ----------------------------------------------------------------


@frozen(kw_only=True)
class MilestoneSpecBody:
    title: str
    amount: MoneyBody
    due_at: datetime  # RFC 3339 with an offset; the deadline, after which the timeout outcome applies
    timeout_outcome: Literal["refund", "release"] = "refund"  # what the deadline does to funded money
    auto_release_days: int | None = None  # days after submission; default: the installation's


@frozen(kw_only=True)
class CreateContractRequest:
    provider_id: str
    currency: str
    milestones: tuple[MilestoneSpecBody, ...]


@frozen(kw_only=True)
class ApproveMilestoneRequest:
    amount: MoneyBody | None = None  # part of what is held; omit (send {}) to release all of it


@frozen(kw_only=True)
class RefundAmountRequest:
    amount: MoneyBody


@frozen(kw_only=True)
class SupportRefundRequest:
    reason: str
    amount: MoneyBody | None = None  # omit to refund everything held


@frozen(kw_only=True)
class OpenDisputeHoldRequest:
    reason: str


@frozen(kw_only=True)
class ResolveDisputeHoldRequest:
    release: MoneyBody  # to the provider, before the fee
    refund: MoneyBody  # to the client; release + refund must equal what is held
    reason: str


@frozen(kw_only=True)
class RequestPayoutRequest:
    amount: MoneyBody
    payee_id: str | None = None  # finance only: pay out this user's money


# ---- escrow responses ---------------------------------------------------------------


@frozen(kw_only=True)
class MilestoneResponse:
    milestone_id: str
    position: int
    title: str
    amount: MoneyBody
    fee_preview: MoneyBody  # the fee if the whole amount is released at once
    net_preview: MoneyBody
    due_at: datetime
    timeout_outcome: str
    auto_release_days: int
    status: str
    held: MoneyBody
    released: MoneyBody  # gross, fees included
    refunded: MoneyBody
    fees: MoneyBody
    submissions: int
    changes_requested: int
    refund_proposal: MoneyBody | None


@frozen(kw_only=True)
class FeeScheduleResponse:
    tier: str
    bps: int
    min_minor: int
    max_minor: int | None


@frozen(kw_only=True)
class ContractResponse:
    contract_id: str
    client_id: str
    provider_id: str
    currency: str
    fee: FeeScheduleResponse
    status: str
    created_at: datetime
    milestones: tuple[MilestoneResponse, ...]
    version: int


@frozen(kw_only=True)
class MilestoneMovedResponse:
    contract_id: str
    milestone_id: str
    status: str
    held: MoneyBody
    entry_id: str | None  # the journal entry, when money moved
    release_id: str | None
    gross: MoneyBody | None
    fee: MoneyBody | None
    net: MoneyBody | None
    refunded: MoneyBody | None


@frozen(kw_only=True)
class EarningsResponse:
    user_id: str
    pending: MoneyBody  # released, still clearing
    available: MoneyBody  # in the wallet
    in_transit: MoneyBody  # requested payouts not yet paid or failed


@frozen(kw_only=True)
class PayoutResponse:
    payout_id: str
    payee_id: str
    requested_by: str
    amount: MoneyBody
    status: str
    required_approvals: int
    approvals: tuple[str, ...]
    attempts: int
    reference: str | None
    failure_reason: str | None
    requested_at: datetime


# ---- problems (RFC 9457) ------------------------------------------------------------


@frozen(kw_only=True)
class FieldProblem:
    field: str
    reason: str


@frozen(kw_only=True)
class Problem:
    """An ``application/problem+json`` body. ``code`` is the stable machine-readable error
    code; ``errors`` is present only when individual fields were refused."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    correlation_id: str
    errors: tuple[FieldProblem, ...] | None = None
