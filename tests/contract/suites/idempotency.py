from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from core.escrow.domain import (
    ContractId,
    ContractStatus,
    ContractView,
    MilestoneId,
    MilestoneMoved,
    MilestoneStatus,
    MilestoneView,
    PayoutId,
    PayoutStatus,
    PayoutView,
    ReleaseId,
    TimeoutOutcome,
    TimerFired,
)
from core.escrow.use_cases.fire_due_timers import FireDueTimersResult, TimerFailure
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
from core.shared.errors import ConcurrentUpdate
from core.shared.idempotency import IdempotencyKeyReused
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

_MILESTONE = MilestoneView(
    milestone_id=MilestoneId("mil_1"),
    position=1,
    title="Lögo & «brand»",
    amount=Money.of(10**15, "EUR"),
    fee_preview=Money.of(10**14, "EUR"),
    net_preview=Money.of(9 * 10**14, "EUR"),
    due_at=T0,
    timeout_outcome=TimeoutOutcome.RELEASE,
    auto_release_days=14,
    status=MilestoneStatus.SUBMITTED,
    held=Money.of(10**15, "EUR"),
    released=Money.of(0, "EUR"),
    refunded=Money.of(0, "EUR"),
    fees=Money.of(0, "EUR"),
    submissions=2,
    changes_requested=1,
    refund_proposal=None,
)
_PAYOUT = PayoutView(
    payout_id=PayoutId("pay_1"),
    payee_id="usr_1",
    requested_by="usr_2",
    amount=Money.of(1_500_000, "JPY"),
    status=PayoutStatus.APPROVED,
    required_approvals=2,
    approvals=("usr_9", "usr_3"),  # in the order given, not sorted
    attempts=0,
    reference=None,
    failure_reason=None,
    requested_at=T0,
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
    "contract": ContractView(
        contract_id=ContractId("ctr_1"),
        client_id="usr_1",
        provider_id="usr_2",
        currency="EUR",
        fee_tier="agency",
        fee_bps=250,
        fee_min_minor=0,
        fee_max_minor=None,
        status=ContractStatus.ACTIVE,
        created_at=T0,
        milestones=(
            _MILESTONE,
            attrs.evolve(_MILESTONE, milestone_id=MilestoneId("mil_2"), position=2, refund_proposal=Money.of(1, "EUR")),
        ),
        version=7,
    ),
    "contract capped fee": ContractView(
        contract_id=ContractId("ctr_2"),
        client_id="usr_1",
        provider_id="usr_2",
        currency="EUR",
        fee_tier="default",
        fee_bps=1_000,
        fee_min_minor=50,
        fee_max_minor=5_000,
        status=ContractStatus.PROPOSED,
        created_at=T0,
        milestones=(_MILESTONE,),
        version=0,
    ),
    "milestone released": MilestoneMoved(
        contract_id=ContractId("ctr_1"),
        milestone_id=MilestoneId("mil_1"),
        status=MilestoneStatus.FUNDED,
        held=Money.of(600, "EUR"),
        entry_id=EntryId("ent_1"),
        release_id=ReleaseId("rel_1"),
        gross=Money.of(400, "EUR"),
        fee=Money.of(50, "EUR"),
        net=Money.of(350, "EUR"),
    ),
    "milestone refunded": MilestoneMoved(
        contract_id=ContractId("ctr_1"),
        milestone_id=MilestoneId("mil_1"),
        status=MilestoneStatus.REFUNDED,
        held=Money.of(0, "EUR"),
        entry_id=EntryId("ent_2"),
        refunded=Money.of(1_000, "EUR"),
    ),
    "milestone moved": MilestoneMoved(
        contract_id=ContractId("ctr_1"),
        milestone_id=MilestoneId("mil_1"),
        status=MilestoneStatus.DISPUTED,
        held=Money.of(1_000, "EUR"),
    ),
    "payout": _PAYOUT,
    "payout paid": attrs.evolve(
        _PAYOUT, status=PayoutStatus.PAID, attempts=2, reference="sbx_00000001_ab", approvals=()
    ),
    "payout failed": attrs.evolve(_PAYOUT, status=PayoutStatus.FAILED, attempts=1, failure_reason="account closed"),
    "timer fired": TimerFired(timer_id="tmr_1", kind="escrow.auto_release", outcome="released", entry_id=EntryId("e")),
    "timer obsolete": TimerFired(timer_id="tmr_2", kind="escrow.deadline", outcome="obsolete"),
    "timers fired": FireDueTimersResult(
        fired=(TimerFired(timer_id="tmr_1", kind="escrow.clearing", outcome="cleared"),),
        failed=(TimerFailure(timer_id="tmr_3", kind="escrow.deadline", code="insufficient_funds"),),
    ),
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


def _claim(uow: Any, key: IdempotencyKey, result_type: type = TransferFundsResult, **changes: Any) -> Any:
    """Claim ``key`` for the transfer command (or what ``changes`` say)."""
    args: dict[str, Any] = {"command": "ledger.transfer", "fingerprint": "f" * 64, "at": T0, "result_type": result_type}
    args.update(changes)
    scope = args.pop("scope", "user:usr_1")
    return uow.idempotency.claim(scope, key, **args)


def _store(make_uow: MakeUow, key: IdempotencyKey, result: Any = RESULTS["transfer"], **changes: Any) -> None:
    with make_uow() as uow:
        assert _claim(uow, key, type(result), **changes) is None
        uow.idempotency.complete(changes.get("scope", "user:usr_1"), key, result)
        uow.commit()


class IdempotencyStoreContract:
    """Behaviour every ``IdempotencyStore`` adapter has. Subclasses supply ``make_uow``."""

    def test_a_new_key_is_claimed(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert _claim(uow, _key()) is None

    @pytest.mark.parametrize("name", sorted(RESULTS))
    def test_a_completed_result_comes_back_equal_on_replay(self, make_uow: MakeUow, name: str) -> None:
        key, result = _key(), RESULTS[name]
        _store(make_uow, key, result)
        with make_uow() as uow:
            assert _claim(uow, key, type(result)) == result

    def test_keys_are_scoped_by_actor(self, make_uow: MakeUow) -> None:
        key = _key()
        _store(make_uow, key, RESULTS["wallet"], scope="user:usr_1")
        _store(make_uow, key, RESULTS["balance"], scope="user:usr_2")
        with make_uow() as uow:
            assert _claim(uow, key, WalletView, scope="user:usr_1") == RESULTS["wallet"]
            assert _claim(uow, key, BalanceView, scope="user:usr_2") == RESULTS["balance"]

    def test_another_payload_under_the_same_key_is_refused(self, make_uow: MakeUow) -> None:
        key = _key()
        _store(make_uow, key)
        with make_uow() as uow, pytest.raises(IdempotencyKeyReused):
            _claim(uow, key, fingerprint="e" * 64)

    def test_another_command_under_the_same_key_is_refused_before_its_result_is_loaded(self, make_uow: MakeUow) -> None:
        key = _key()
        _store(make_uow, key, RESULTS["wallet"], command="ledger.wallet.open")
        with make_uow() as uow, pytest.raises(IdempotencyKeyReused) as refused:
            _claim(uow, key, TransferFundsResult)  # a WalletView cannot load as a transfer result
        assert refused.value.first_command == "ledger.wallet.open"

    def test_a_key_claimed_twice_in_one_transaction_is_a_concurrent_update(self, make_uow: MakeUow) -> None:
        key = _key()
        with make_uow() as uow:
            assert _claim(uow, key) is None
            with pytest.raises(ConcurrentUpdate):
                _claim(uow, key)

    def test_a_rolled_back_claim_leaves_the_key_free(self, make_uow: MakeUow) -> None:
        key = _key()
        with make_uow() as uow:
            assert _claim(uow, key) is None
        _store(make_uow, key)
        with make_uow() as uow:
            assert _claim(uow, key) == RESULTS["transfer"]

    @pytest.mark.parametrize("first_commits", [True, False], ids=["winner-commits", "winner-rolls-back"])
    def test_a_claim_racing_an_open_one_waits_for_its_outcome(self, make_uow: MakeUow, first_commits: bool) -> None:
        key = _key()

        def second_claim() -> Any:
            with make_uow() as uow:
                found = _claim(uow, key)
                if found is None:
                    uow.idempotency.complete("user:usr_1", key, RESULTS["transfer"])
                    uow.commit()
                    return "claimed"
                return found

        with make_uow() as uow:
            assert _claim(uow, key) is None
            join = in_background(second_claim)  # waits: for the store lock, the write lock or the key
            uow.idempotency.complete("user:usr_1", key, attrs.evolve(RESULTS["transfer"], entry_id=EntryId("first")))
            if first_commits:
                uow.commit()
        outcome = join()
        if first_commits:
            assert outcome.entry_id == "first"  # the second request replayed the first's result
        else:
            assert outcome == "claimed"
