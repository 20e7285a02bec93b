"""Request and response bodies of the HTTP API, as attrs classes.

They are the wire contract, kept apart from the core's commands and results: a field can
be renamed in the core without breaking a client, and ``mappers.py`` holds the explicit
translation. Field names are the JSON keys. Money is always ``{"minor": int, "currency":
"ISO"}``; request bodies are decoded strictly (``preconditions.py``), so a float, a bool or
a string is never taken for an integer.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen


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
class ReadyResponse:
    status: str
    checks: dict[str, str]


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
