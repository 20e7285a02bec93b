"""The use cases ``gigcore run`` can run, as a table: name, provider, command, summary.

Adding a use case to the runner is one row here; its fields, their types and whether
they are required come from the command class itself.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Sequence
from typing import Any

import attrs
from attrs import frozen

from core.identity.use_cases.create_user import CreateUserCommand
from core.identity.use_cases.issue_api_token import IssueApiTokenCommand
from core.identity.use_cases.revoke_api_token import RevokeApiTokenCommand
from core.identity.use_cases.verify_audit_log import VerifyAuditLogQuery
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand
from core.ledger.use_cases.get_balance import GetBalanceQuery
from core.ledger.use_cases.get_statement import GetStatementQuery
from core.ledger.use_cases.list_wallets import ListWalletsQuery
from core.ledger.use_cases.open_wallet import OpenWalletCommand
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshotsCommand
from core.ledger.use_cases.transfer_funds import TransferFundsCommand
from core.shared.money import Currency, Money

# Filled by the CLI from the operator and its own options, never from input.
ENVELOPE = frozenset({"by", "idempotency_key", "correlation_id"})


@frozen
class Runnable:
    name: str  # as typed on the command line
    provider: str  # the attribute of entrypoints.container.UseCases
    command: type  # the use case's command or query class
    summary: str

    def fields(self) -> tuple[attrs.Attribute[Any], ...]:
        """The input fields: the command's fields minus the envelope, types resolved."""
        attrs.resolve_types(self.command)
        return tuple(f for f in attrs.fields(self.command) if f.name not in ENVELOPE)

    @property
    def changes_state(self) -> bool:
        return any(f.name == "idempotency_key" for f in attrs.fields(self.command))


RUNNABLE: tuple[Runnable, ...] = (
    Runnable(
        "open-wallet",
        "open_wallet",
        OpenWalletCommand,
        "Open a wallet in one currency; support and admin open one for --owner-id.",
    ),
    Runnable(
        "deposit-sandbox-funds",
        "deposit_sandbox_funds",
        DepositSandboxFundsCommand,
        "Credit a wallet from the sandbox gateway, no real money (finance: any wallet).",
    ),
    Runnable(
        "transfer-funds",
        "transfer_funds",
        TransferFundsCommand,
        "Move money between wallets in one currency (only the source wallet's owner).",
    ),
    Runnable(
        "get-balance",
        "get_balance",
        GetBalanceQuery,
        "The available balance of a wallet (support, finance, admin: any wallet).",
    ),
    Runnable(
        "get-statement",
        "get_statement",
        GetStatementQuery,
        "A wallet's postings, newest first, one page at a time (--cursor from the last page).",
    ),
    Runnable(
        "list-wallets",
        "list_wallets",
        ListWalletsQuery,
        "The wallets of a user (--owner-id; support, finance, admin: anyone's).",
    ),
    Runnable(
        "take-balance-snapshots",
        "take_balance_snapshots",
        TakeBalanceSnapshotsCommand,
        "Record every account's balance at one instant (finance, admin).",
    ),
    Runnable(
        "create-user",
        "create_user",
        CreateUserCommand,
        "Register a user with personas (admin).",
    ),
    Runnable(
        "issue-api-token",
        "issue_api_token",
        IssueApiTokenCommand,
        "Issue a bearer token for a user; the secret is shown once (admin).",
    ),
    Runnable(
        "revoke-api-token",
        "revoke_api_token",
        RevokeApiTokenCommand,
        "Revoke an API token at once (admin).",
    ),
    Runnable(
        "verify-audit-log",
        "verify_audit_log",
        VerifyAuditLogQuery,
        "Recompute every audit chain and report the first break of each (finance, admin).",
    ),
)

BY_NAME: typing.Mapping[str, Runnable] = types.MappingProxyType({r.name: r for r in RUNNABLE})


def flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def value_label(tp: Any) -> str:
    """How a field's value is written, for ``run --list``."""
    tp = without_none(tp)
    if tp is Money:
        return "MONEY"  # "10.50 EUR" or {"minor": 1050, "currency": "EUR"}
    if tp is Currency:
        return "CURRENCY"
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:  # a typed id such as AccountId
        return _snake(tp.__name__).upper()
    origin = typing.get_origin(tp)
    if origin in (frozenset, set, tuple, list):
        (item, *_) = typing.get_args(tp)
        return f"[{value_label(item)},…]"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "|".join(str(m.value) for m in tp)
    return {str: "TEXT", int: "INT", bool: "BOOL"}.get(tp, getattr(tp, "__name__", str(tp)).upper())


def without_none(tp: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


def accepts_text(tp: Any) -> bool:
    """Whether the field holds free text (str or a typed id), so a flag value such as
    ``--memo 123`` stays the text ``"123"`` instead of becoming a number."""
    tp = without_none(tp)
    while getattr(tp, "__supertype__", None) is not None:
        tp = tp.__supertype__
    return tp is str


def usage(runnable: Runnable) -> str:
    """``--currency CURRENCY [--owner-id USER_ID]``: required fields bare, optional ones in brackets."""
    parts = []
    for field in runnable.fields():
        part = f"{flag(field.name)} {value_label(field.type)}"
        parts.append(part if field.default is attrs.NOTHING else f"[{part}]")
    return " ".join(parts) or "(no fields)"


def listing(runnables: Sequence[Runnable] = RUNNABLE) -> list[str]:
    width = max(len(r.name) for r in runnables)
    return [f"{r.name.ljust(width)}  {r.summary}  {usage(r)}" for r in runnables]


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
