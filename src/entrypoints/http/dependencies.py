"""Dependencies handed to Litestar, as named and annotated provider functions.

Litestar inspects a provider's signature to inject its own arguments (the request, a
header), so a dependency-injector provider object (``*args, **kwargs``) is the wrong thing
to hand it. Use cases are resolved from the runtime's container at call time; they are
singletons there, built once and shared by every thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request
from litestar.di import Provide
from litestar.params import HeaderParameter

from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFunds
from core.ledger.use_cases.get_balance import GetBalance
from core.ledger.use_cases.get_statement import GetStatement
from core.ledger.use_cases.list_wallets import ListWallets
from core.ledger.use_cases.open_wallet import OpenWallet
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshots
from core.ledger.use_cases.transfer_funds import TransferFunds
from core.shared.actor import Actor
from core.shared.ids import CorrelationId, IdempotencyKey
from entrypoints.container import Runtime
from entrypoints.http.preconditions import IDEMPOTENCY_HEADER, require_idempotency_key
from entrypoints.http.request_context import correlation_of

DatabasePing = Callable[[], None]

# Escrow's use cases, injected by these names (the container's provider names).
ESCROW_USE_CASES = (
    "create_contract",
    "accept_contract",
    "decline_contract",
    "cancel_contract",
    "get_contract",
    "fund_milestone",
    "submit_milestone",
    "approve_milestone",
    "request_milestone_changes",
    "propose_refund",
    "agree_refund",
    "refund_milestone",
    "open_dispute_hold",
    "resolve_dispute_hold",
    "get_earnings",
    "request_payout",
    "approve_payout",
    "execute_payout",
    "get_payout",
)


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The Actor the bearer-authentication middleware put on the request."""
    actor = request.scope.get("user")
    if not isinstance(actor, Actor):
        raise RuntimeError("a route that needs an actor is not behind BearerAuthentication")
    return actor


def provide_correlation_id(request: Request[Any, Any, Any]) -> CorrelationId:
    return correlation_of(request.scope)


def provide_idempotency_key(
    raw: Annotated[
        str,
        HeaderParameter(
            name=IDEMPOTENCY_HEADER,
            description="Unique per intended operation: 8 to 200 characters of A-Z a-z 0-9 . _ : - "
            "(a UUID fits). A retry with the same key and body returns the first answer; "
            "the same key with another body is a 409.",
        ),
    ],
) -> IdempotencyKey:
    return require_idempotency_key(raw)  # already checked by the preconditions hook


def request_dependencies() -> dict[str, Provide]:
    return {
        "actor": Provide(provide_actor, sync_to_thread=False),
        "correlation_id": Provide(provide_correlation_id, sync_to_thread=False),
        "idempotency_key": Provide(provide_idempotency_key, sync_to_thread=False),
    }


def runtime_dependencies(runtime: Runtime) -> dict[str, Provide]:
    """One provider per use case (and the readiness probe), closed over ``runtime``."""

    def provide_open_wallet() -> OpenWallet:
        return runtime.use_cases.open_wallet()

    def provide_list_wallets() -> ListWallets:
        return runtime.use_cases.list_wallets()

    def provide_get_balance() -> GetBalance:
        return runtime.use_cases.get_balance()

    def provide_get_statement() -> GetStatement:
        return runtime.use_cases.get_statement()

    def provide_deposit_sandbox_funds() -> DepositSandboxFunds:
        return runtime.use_cases.deposit_sandbox_funds()

    def provide_transfer_funds() -> TransferFunds:
        return runtime.use_cases.transfer_funds()

    def provide_take_balance_snapshots() -> TakeBalanceSnapshots:
        return runtime.use_cases.take_balance_snapshots()

    def provide_database_ping() -> DatabasePing:
        return runtime.ping_database

    def provide_use_case(name: str) -> Callable[[], Any]:
        def provide() -> Any:
            return getattr(runtime.use_cases, name)()

        provide.__name__ = f"provide_{name}"
        return provide

    providers = (
        *((name, provide_use_case(name)) for name in ESCROW_USE_CASES),
        ("open_wallet", provide_open_wallet),
        ("list_wallets", provide_list_wallets),
        ("get_balance", provide_get_balance),
        ("get_statement", provide_get_statement),
        ("deposit_sandbox_funds", provide_deposit_sandbox_funds),
        ("transfer_funds", provide_transfer_funds),
        ("take_balance_snapshots", provide_take_balance_snapshots),
        ("export_journal", provide_use_case("export_journal")),
        ("list_notifications", provide_use_case("list_notifications")),
        ("mark_notifications_read", provide_use_case("mark_notifications_read")),
        ("database_ping", provide_database_ping),
    )
    return {name: Provide(fn, sync_to_thread=False) for name, fn in providers}
