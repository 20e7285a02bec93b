from __future__ import annotations

import re
from collections.abc import Callable

from attrs import frozen

from core.ledger.domain import Actions, StatementLine
from core.ledger.ports import LedgerUnitOfWork
from core.ledger.use_cases.wallet_access import visible_wallet
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden
from core.shared.errors import InvalidInput
from core.shared.ids import AccountId
from core.shared.money import Money

MAX_PAGE = 200
DEFAULT_PAGE = 50


@frozen(kw_only=True)
class GetStatementQuery:
    by: Actor
    wallet_id: AccountId
    cursor: str | None = None
    limit: int = DEFAULT_PAGE


@frozen(kw_only=True)
class StatementPage:
    wallet_id: AccountId
    balance: Money
    lines: tuple[StatementLine, ...]
    next_cursor: str | None


_CURSOR = re.compile(r"s[0-9]{1,18}")  # ASCII digits only, and always within a BIGINT


def _decode(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not _CURSOR.fullmatch(cursor):
        raise InvalidInput("cursor", "not a cursor returned by a previous page")
    return int(cursor[1:])


class GetStatement:
    """A wallet's postings, newest first, one page at a time (keyset pagination: pages
    stay stable while new postings arrive). ``limit`` is 1..200.
    Raises Forbidden, WalletNotFound, InvalidInput."""

    def __init__(self, new_uow: Callable[[], LedgerUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: GetStatementQuery) -> StatementPage:
        if isinstance(query.limit, bool) or not isinstance(query.limit, int) or not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be an integer from 1 to {MAX_PAGE}")
        before = _decode(query.cursor)
        if not self._authorizer.allows(query.by, Actions.READ_WALLET):
            raise Forbidden(Actions.READ_WALLET)
        with self._new_uow() as uow:
            wallet = visible_wallet(uow.accounts, query.by, query.wallet_id, self._authorizer)
            lines = uow.journal.statement(wallet.id, before_seq=before, limit=query.limit + 1)
        more = len(lines) > query.limit
        page = tuple(lines[: query.limit])
        return StatementPage(
            wallet_id=wallet.id,
            balance=wallet.balance,
            lines=page,
            next_cursor=f"s{page[-1].seq}" if more else None,
        )
