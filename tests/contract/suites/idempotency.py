from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from core.identity.use_cases.create_user import UserView
from core.identity.use_cases.issue_api_token import IssueApiTokenResult
from core.identity.use_cases.revoke_api_token import RevokeApiTokenResult
from core.ledger.domain import EntryKind, StatementLine, WalletView
from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsResult
from core.ledger.use_cases.get_balance import BalanceView
from core.ledger.use_cases.get_statement import StatementPage
from core.ledger.use_cases.list_wallets import WalletList
from core.ledger.use_cases.take_balance_snapshots import CurrencyTotal, TakeBalanceSnapshotsResult
from core.ledger.use_cases.transfer_funds import TransferFundsResult
from core.shared.idempotency import KeyAlreadyClaimed, StoredResult
from core.shared.ids import AccountId, EntryId, IdempotencyKey, SnapshotId, TokenId, UserId, new_id
from core.shared.money import Money

from ..builders import T0
from ..harness import MakeUow
from ..threads import in_background

_WALLET = WalletView(
    wallet_id=AccountId("wal_1"), owner_id="usr_1", currency="EUR", balance=Money.of(1050, "EUR"), opened_at=T0
)
_LINE = StatementLine(
    seq=42,
    entry_id=EntryId("ent_1"),
    kind=EntryKind.DEPOSIT,
    occurred_at=T0,
    memo="ünïcode memo",
    amount=Money.of(-7, "JPY"),
    balance_after=Money.of(93, "JPY"),
)

# One example of every result type a command stores, each with its awkward corners.
RESULTS: dict[str, Any] = {
    "transfer": TransferFundsResult(
        entry_id=EntryId("ent_1"),
        from_wallet_id=AccountId("wal_1"),
        to_wallet_id=AccountId("wal_2"),
        amount=Money.of(10**15, "EUR"),
        from_balance=Money.of(0, "EUR"),
    ),
    "deposit": DepositSandboxFundsResult(
        entry_id=EntryId("ent_2"), wallet_id=AccountId("wal_1"), amount=Money.of(5, "BHD"), balance=Money.of(5, "BHD")
    ),
    "wallet": _WALLET,
    "wallet list": WalletList(wallets=(_WALLET, _WALLET)),
    "balance": BalanceView(wallet_id=AccountId("wal_1"), available=Money.of(1, "EUR"), as_of=T0),
    "token issued": IssueApiTokenResult(
        token_id=TokenId("tok_1"), user_id=UserId("usr_1"), label="ci", expires_at=T0 + timedelta(days=90), token=None
    ),
    "token forever": IssueApiTokenResult(
        token_id=TokenId("tok_2"), user_id=UserId("usr_1"), label="ci", expires_at=None, token="gct_secret"
    ),
    "token revoked": RevokeApiTokenResult(token_id=TokenId("tok_1"), revoked_at=T0),
    "snapshots": TakeBalanceSnapshotsResult(
        snapshot_id=SnapshotId("snap_1"),
        taken_at=T0,
        totals=(
            CurrencyTotal(currency="EUR", accounts=3, total_minor=0),
            CurrencyTotal(currency="JPY", accounts=1, total_minor=-2),
        ),
    ),
    "statement page": StatementPage(
        wallet_id=AccountId("wal_1"),
        balance=Money.of(93, "JPY"),
        lines=(_LINE, attrs.evolve(_LINE, seq=41, balance_after=None)),
        next_cursor="s41",
    ),
    "empty page": StatementPage(wallet_id=AccountId("wal_1"), balance=Money.of(0, "EUR"), lines=(), next_cursor=None),
    "user": UserView(
        user_id=UserId("usr_1"),
        handle="ada",
        display_name="Ada",
        personas=("client", "provider"),
        created_at=datetime(2026, 1, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ),
}


def _key() -> IdempotencyKey:
    return IdempotencyKey(new_id("key"))


def _stored(result: Any = RESULTS["transfer"]) -> StoredResult[Any]:
    return StoredResult("ledger.transfer", "f" * 64, result, datetime(2026, 5, 4, 3, 2, 1, 654321, tzinfo=UTC))


class IdempotencyStoreContract:
    """Behaviour every ``IdempotencyStore`` adapter has. Subclasses supply ``make_uow``."""

    def test_unknown_key_finds_nothing(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.idempotency.find("user:usr_1", _key(), TransferFundsResult) is None

    @pytest.mark.parametrize("name", list(RESULTS))
    def test_a_stored_result_comes_back_equal(self, make_uow: MakeUow, name: str) -> None:
        stored = _stored(RESULTS[name])
        key = _key()
        with make_uow() as uow:
            uow.idempotency.save("user:usr_1", key, stored)
            uow.commit()
        with make_uow() as uow:
            found = uow.idempotency.find("user:usr_1", key, type(stored.result))
        assert found == stored
        assert found is not None
        assert type(found.result) is type(stored.result)
        assert found.created_at.isoformat() == stored.created_at.isoformat()

    def test_keys_are_scoped_by_actor(self, make_uow: MakeUow) -> None:
        key = _key()
        with make_uow() as uow:
            uow.idempotency.save("user:usr_1", key, _stored(RESULTS["wallet"]))
            uow.idempotency.save("user:usr_2", key, _stored(RESULTS["balance"]))
            uow.commit()
        with make_uow() as uow:
            first = uow.idempotency.find("user:usr_1", key, WalletView)
            second = uow.idempotency.find("user:usr_2", key, BalanceView)
        assert first is not None and first.result == RESULTS["wallet"]
        assert second is not None and second.result == RESULTS["balance"]

    def test_a_key_claimed_in_the_same_transaction_is_refused(self, make_uow: MakeUow) -> None:
        key = _key()
        with make_uow() as uow:
            uow.idempotency.save("user:usr_1", key, _stored())
            with pytest.raises(KeyAlreadyClaimed):
                uow.idempotency.save("user:usr_1", key, _stored(RESULTS["wallet"]))
            uow.commit()
        with make_uow() as uow:
            found = uow.idempotency.find("user:usr_1", key, TransferFundsResult)
        assert found is not None and found.result == RESULTS["transfer"]

    def test_a_committed_key_is_refused(self, make_uow: MakeUow) -> None:
        key = _key()
        with make_uow() as uow:
            uow.idempotency.save("user:usr_1", key, _stored())
            uow.commit()
        with make_uow() as uow, pytest.raises(KeyAlreadyClaimed):
            uow.idempotency.save("user:usr_1", key, _stored())

    def test_a_rolled_back_claim_leaves_the_key_free(self, make_uow: MakeUow) -> None:
        key = _key()
        with make_uow() as uow:
            uow.idempotency.save("user:usr_1", key, _stored())
        with make_uow() as uow:
            assert uow.idempotency.find("user:usr_1", key, TransferFundsResult) is None
            uow.idempotency.save("user:usr_1", key, _stored())
            uow.commit()

    @pytest.mark.parametrize("first_commits", [True, False], ids=["winner-commits", "winner-rolls-back"])
    def test_a_claim_racing_an_open_one_waits_for_its_outcome(self, make_uow: MakeUow, first_commits: bool) -> None:
        key = _key()

        def second_claim() -> str:
            with make_uow() as uow:
                uow.idempotency.save("user:usr_1", key, _stored(RESULTS["wallet"]))
                uow.commit()
                return "claimed"

        with make_uow() as uow:
            uow.idempotency.save("user:usr_1", key, _stored())
            join = in_background(second_claim)  # waits: for the store lock, the write lock or the key
            if first_commits:
                uow.commit()
        if first_commits:
            with pytest.raises(KeyAlreadyClaimed):
                join()
            expected = RESULTS["transfer"]
        else:
            assert join() == "claimed"
            expected = RESULTS["wallet"]
        with make_uow() as uow:
            found = uow.idempotency.find("user:usr_1", key, type(expected))
        assert found is not None and found.result == expected
