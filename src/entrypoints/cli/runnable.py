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

from core.escrow.use_cases.accept_contract import AcceptContractCommand
from core.escrow.use_cases.agree_refund import AgreeRefundCommand
from core.escrow.use_cases.approve_milestone import ApproveMilestoneCommand
from core.escrow.use_cases.approve_payout import ApprovePayoutCommand
from core.escrow.use_cases.cancel_contract import CancelContractCommand
from core.escrow.use_cases.create_contract import CreateContractCommand
from core.escrow.use_cases.decline_contract import DeclineContractCommand
from core.escrow.use_cases.execute_payout import ExecutePayoutCommand
from core.escrow.use_cases.fund_milestone import FundMilestoneCommand
from core.escrow.use_cases.get_contract import GetContractQuery
from core.escrow.use_cases.get_earnings import GetEarningsQuery
from core.escrow.use_cases.get_payout import GetPayoutQuery
from core.escrow.use_cases.open_dispute_hold import OpenDisputeHoldCommand
from core.escrow.use_cases.propose_refund import ProposeRefundCommand
from core.escrow.use_cases.refund_milestone import RefundMilestoneCommand
from core.escrow.use_cases.request_milestone_changes import RequestMilestoneChangesCommand
from core.escrow.use_cases.request_payout import RequestPayoutCommand
from core.escrow.use_cases.resolve_dispute_hold import ResolveDisputeHoldCommand
from core.escrow.use_cases.submit_milestone import SubmitMilestoneCommand
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
from core.messaging.use_cases.list_dead_letters import ListDeadLettersQuery
from core.notifications.use_cases.list_notifications import ListNotificationsQuery
from core.notifications.use_cases.mark_notifications_read import MarkNotificationsReadCommand
from core.payments.use_cases.capture_payment import CapturePaymentCommand
from core.payments.use_cases.get_payment import GetPaymentQuery
from core.payments.use_cases.get_payout_destinations import GetPayoutDestinationsQuery
from core.payments.use_cases.reconcile_provider import ReconcileProviderCommand
from core.payments.use_cases.record_payment_outcome import RecordPaymentOutcomeCommand
from core.payments.use_cases.record_refund_outcome import RecordRefundOutcomeCommand
from core.payments.use_cases.refund_payment import RefundPaymentCommand
from core.payments.use_cases.register_payout_destination import RegisterPayoutDestinationCommand
from core.payments.use_cases.start_top_up import StartTopUpCommand
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
    # Escrow. Operators see any contract, refund and settle dispute holds (support, always
    # with a reason) and run payouts (finance); the marketplace steps (propose, accept,
    # fund, submit, approve) are the parties' own and listed so that the table is whole:
    # run by an operator they are refused as forbidden. Timers fire as the system, with
    # `gigcore timers fire`, not as an operator.
    Runnable(
        "create-contract",
        "create_contract",
        CreateContractCommand,
        "Propose a contract with ordered milestones to a provider (the client).",
    ),
    Runnable(
        "accept-contract",
        "accept_contract",
        AcceptContractCommand,
        "Accept a proposed contract (its provider).",
    ),
    Runnable(
        "decline-contract",
        "decline_contract",
        DeclineContractCommand,
        "Decline a proposed contract (its provider).",
    ),
    Runnable(
        "cancel-contract",
        "cancel_contract",
        CancelContractCommand,
        "Withdraw a proposed contract (its client).",
    ),
    Runnable(
        "get-contract",
        "get_contract",
        GetContractQuery,
        "A contract with its milestones, held amounts and fees (support, finance, admin: any).",
    ),
    Runnable(
        "fund-milestone",
        "fund_milestone",
        FundMilestoneCommand,
        "Move a milestone's amount from the client's wallet into escrow (the client).",
    ),
    Runnable(
        "submit-milestone",
        "submit_milestone",
        SubmitMilestoneCommand,
        "Submit a funded milestone's work; arms its auto-release (the provider).",
    ),
    Runnable(
        "approve-milestone",
        "approve_milestone",
        ApproveMilestoneCommand,
        "Release submitted work, all or --amount of it, less the fee (the client).",
    ),
    Runnable(
        "request-milestone-changes",
        "request_milestone_changes",
        RequestMilestoneChangesCommand,
        "Send submitted work back; the money stays held (the client).",
    ),
    Runnable(
        "propose-refund",
        "propose_refund",
        ProposeRefundCommand,
        "Propose refunding part of a funded milestone (the client).",
    ),
    Runnable(
        "agree-refund",
        "agree_refund",
        AgreeRefundCommand,
        "Agree to the client's refund proposal, same amount (the provider).",
    ),
    Runnable(
        "refund-milestone",
        "refund_milestone",
        RefundMilestoneCommand,
        "Refund held money to the client, all or --amount, with a --reason (support).",
    ),
    Runnable(
        "open-dispute-hold",
        "open_dispute_hold",
        OpenDisputeHoldCommand,
        "Freeze a funded or submitted milestone until support settles it (either party).",
    ),
    Runnable(
        "resolve-dispute-hold",
        "resolve_dispute_hold",
        ResolveDisputeHoldCommand,
        "Settle a dispute hold: --release to the provider plus --refund to the client = held (support).",
    ),
    Runnable(
        "get-earnings",
        "get_earnings",
        GetEarningsQuery,
        "A user's pending, available and in-transit money in one currency (staff: --user-id).",
    ),
    Runnable(
        "request-payout",
        "request_payout",
        RequestPayoutCommand,
        "Pay out available money; finance requests for a --payee-id (approval bands apply).",
    ),
    Runnable(
        "approve-payout",
        "approve_payout",
        ApprovePayoutCommand,
        "Approve a requested payout; never your own, once per checker (finance).",
    ),
    Runnable(
        "execute-payout",
        "execute_payout",
        ExecutePayoutCommand,
        "Send an approved payout through the payout gateway, exactly once (finance).",
    ),
    Runnable(
        "get-payout",
        "get_payout",
        GetPayoutQuery,
        "A payout with its approvals and outcome (support, finance, admin: any).",
    ),
    Runnable(
        "list-dead-letters",
        "list_dead_letters",
        ListDeadLettersQuery,
        "Event deliveries given up on, newest first, with their errors (support, finance, admin).",
    ),
    # Payments. A top-up and its capture are the client's own (listed so the table is whole:
    # an operator is refused); support and finance read and refund any payment; finance reconciles
    # (`gigcore payments reconcile` writes the report as CSV or JSON with a progress bar).
    Runnable(
        "start-top-up",
        "start_top_up",
        StartTopUpCommand,
        "Top up your own wallet through the routed payment provider, never charged twice (the client).",
    ),
    Runnable(
        "capture-payment",
        "capture_payment",
        CapturePaymentCommand,
        "Take a payment you approved at the provider (PayPal) now, captured once (the payer).",
    ),
    Runnable(
        "get-payment",
        "get_payment",
        GetPaymentQuery,
        "A payment with its status, provider and refunds (support, finance, admin: any).",
    ),
    Runnable(
        "refund-payment",
        "refund_payment",
        RefundPaymentCommand,
        "Refund --amount of a captured payment to its payer through its provider, with a --reason (support, finance).",
    ),
    Runnable(
        "record-refund-outcome",
        "record_refund_outcome",
        RecordRefundOutcomeCommand,
        "Record a pending refund's final --status as the provider's dashboard shows it, with a --reason (finance).",
    ),
    Runnable(
        "record-payment-outcome",
        "record_payment_outcome",
        RecordPaymentOutcomeCommand,
        "Record an unknown or created payment's final --status as the provider's dashboard shows it"
        " (captured: --amount, --provider-reference), with a --reason (finance).",
    ),
    Runnable(
        "reconcile-provider",
        "reconcile_provider",
        ReconcileProviderCommand,
        "Match a provider's settlement report for [--start, --end) against our books (finance).",
    ),
    Runnable(
        "register-payout-destination",
        "register_payout_destination",
        RegisterPayoutDestinationCommand,
        "Register where --provider pays you (--destination: acct_…, an Adyen id, a PayPal email or payer id).",
    ),
    Runnable(
        "get-payout-destinations",
        "get_payout_destinations",
        GetPayoutDestinationsQuery,
        "Your payout destinations, one per provider; support, finance, admin: a member's (--payee-id).",
    ),
    Runnable(
        "notifications.list",
        "list_notifications",
        ListNotificationsQuery,
        "Your notifications, newest first (--unread-only); support and admin: a member's (--user-id).",
    ),
    Runnable(
        "notifications.mark_read",
        "mark_notifications_read",
        MarkNotificationsReadCommand,
        "Mark your own notifications read, by --notification-ids or --all-unread.",
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
