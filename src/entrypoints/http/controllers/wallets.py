"""Wallets: open, list, balance, statement and sandbox deposits."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFunds
from core.ledger.use_cases.get_balance import GetBalance, GetBalanceQuery
from core.ledger.use_cases.get_statement import DEFAULT_PAGE, MAX_PAGE, GetStatement, GetStatementQuery
from core.ledger.use_cases.list_wallets import ListWallets, ListWalletsQuery
from core.ledger.use_cases.open_wallet import OpenWallet
from core.shared.actor import Actor
from core.shared.ids import AccountId, CorrelationId, IdempotencyKey
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import (
    balance_response,
    deposit_command,
    deposit_response,
    open_wallet_command,
    statement_response,
    wallet_list_response,
    wallet_response,
)
from entrypoints.http.schemas import (
    BalanceResponse,
    DepositRequest,
    DepositResponse,
    OpenWalletRequest,
    StatementResponse,
    WalletListResponse,
    WalletResponse,
)

_WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
_READ = problem_responses(400, 401, 403, 404, 422, 503)


class WalletsController(Controller):
    path = "/wallets"
    tags = ["wallets"]

    @post("/", sync_to_thread=True, operation_id="openWallet", responses=_WRITE)
    def open_wallet(
        self,
        *,
        data: JSONBody[OpenWalletRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        open_wallet: NamedDependency[OpenWallet],
    ) -> WalletResponse:
        """Open a wallet in one currency: your own, or (staff) one for `owner_id`."""
        command = open_wallet_command(data, by=actor, key=idempotency_key, correlation=correlation_id)
        return wallet_response(open_wallet(command))

    @get("/", sync_to_thread=True, operation_id="listWallets", responses=_READ)
    def list_wallets(
        self,
        actor: NamedDependency[Actor],
        list_wallets: NamedDependency[ListWallets],
        owner_id: Annotated[str | None, QueryParameter(description="Staff only: list this user's wallets")] = None,
    ) -> WalletListResponse:
        """Your wallets, by currency; staff may pass `owner_id`."""
        return wallet_list_response(list_wallets(ListWalletsQuery(by=actor, owner_id=owner_id)))

    @get("/{wallet_id:str}/balance", sync_to_thread=True, operation_id="getBalance", responses=_READ)
    def balance(
        self, wallet_id: FromPath[str], actor: NamedDependency[Actor], get_balance: NamedDependency[GetBalance]
    ) -> BalanceResponse:
        """The available balance of a wallet you may see."""
        return balance_response(get_balance(GetBalanceQuery(by=actor, wallet_id=AccountId(wallet_id))))

    @get("/{wallet_id:str}/statement", sync_to_thread=True, operation_id="getStatement", responses=_READ)
    def statement(
        self,
        *,
        wallet_id: FromPath[str],
        actor: NamedDependency[Actor],
        get_statement: NamedDependency[GetStatement],
        cursor: Annotated[
            str | None, QueryParameter(description="The next_cursor of the previous page; omit for the newest")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Lines per page")] = DEFAULT_PAGE,
    ) -> StatementResponse:
        """The wallet's postings, newest first, one page at a time."""
        query = GetStatementQuery(by=actor, wallet_id=AccountId(wallet_id), cursor=cursor, limit=limit)
        return statement_response(get_statement(query))

    @post("/{wallet_id:str}/deposits", sync_to_thread=True, operation_id="depositSandboxFunds", responses=_WRITE)
    def deposit(
        self,
        *,
        wallet_id: FromPath[str],
        data: JSONBody[DepositRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        deposit_sandbox_funds: NamedDependency[DepositSandboxFunds],
    ) -> DepositResponse:
        """Credit a wallet from the sandbox gateway (no real money moves)."""
        command = deposit_command(wallet_id, data, by=actor, key=idempotency_key, correlation=correlation_id)
        return deposit_response(deposit_sandbox_funds(command))
