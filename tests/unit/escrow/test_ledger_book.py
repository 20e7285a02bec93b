"""The ledger as escrow's Book: account kinds and their rules, get-or-open, one balanced
entry per post, non-negative running balances."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.escrow.ports import PLATFORM, AccountKinds, EntryKinds
from core.ledger.domain import AccountKind, BalanceRule, EntryKind, EntryNotBalanced, InsufficientFunds
from core.shared.errors import InvalidInput
from core.shared.money import Currency, Money
from tests.unit.escrow.world import EscrowWorld

EUR = Currency("EUR")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_escrows_names_are_the_ledgers() -> None:
    assert {v for k, v in vars(AccountKinds).items() if k.isupper()} <= {k.value for k in AccountKind}
    assert {v for k, v in vars(EntryKinds).items() if k.isupper()} <= {k.value for k in EntryKind}


@pytest.mark.parametrize(
    ("kind", "running", "platform"),
    [
        (AccountKind.WALLET, True, False),
        (AccountKind.WALLET_PENDING, True, False),
        (AccountKind.PAYOUT_IN_TRANSIT, True, False),
        (AccountKind.ESCROW, True, True),
        (AccountKind.FEE_REVENUE, False, True),
        (AccountKind.GATEWAY_CLEARING, False, True),
    ],
)
def test_each_kind_has_its_rules(kind: AccountKind, running: bool, platform: bool) -> None:
    assert kind.keeps_running_balance is running
    assert kind.is_platform is platform
    assert kind.rule is (BalanceRule.NON_NEGATIVE if running else BalanceRule.UNBOUNDED)


def test_accounts_are_opened_once_and_found_again(world: EscrowWorld) -> None:
    with world.runtime.new_unit_of_work() as uow:
        first = uow.book.account(owner_id="usr_a", kind=AccountKinds.WALLET_PENDING, currency=EUR, at=T0)
        again = uow.book.account(owner_id="usr_a", kind=AccountKinds.WALLET_PENDING, currency=EUR, at=T0)
        escrow = uow.book.account(owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=EUR, label="mil_1", at=T0)
        assert first == again
        assert uow.book.find_account(owner_id="usr_a", kind=AccountKinds.WALLET_PENDING, currency=EUR) == first
        assert uow.book.find_account(owner_id="usr_b", kind=AccountKinds.WALLET_PENDING, currency=EUR) is None
        assert uow.accounts.get(escrow).owner_id == PLATFORM
        with pytest.raises(InvalidInput):
            uow.book.account(owner_id="usr_a", kind=AccountKinds.ESCROW, currency=EUR, at=T0)
        with pytest.raises(InvalidInput):
            uow.book.account(owner_id=PLATFORM, kind=AccountKinds.WALLET, currency=EUR, at=T0)
        with pytest.raises(InvalidInput):
            uow.book.account(owner_id="usr_a", kind="piggy_bank", currency=EUR, at=T0)


def test_a_post_is_one_balanced_entry_and_refuses_overdrafts(world: EscrowWorld) -> None:
    with world.runtime.new_unit_of_work() as uow:
        book = uow.book
        pending = book.account(owner_id="usr_a", kind=AccountKinds.WALLET_PENDING, currency=EUR, at=T0)
        escrow = book.account(owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=EUR, label="mil_1", at=T0)
        fees = book.account(owner_id=PLATFORM, kind=AccountKinds.FEE_REVENUE, currency=EUR, at=T0)
        with pytest.raises(InsufficientFunds) as refused:
            book.post(
                kind=EntryKinds.ESCROW_RELEASE,
                memo="",
                initiated_by="test",
                legs=[(escrow, Money.of(-100, EUR)), (pending, Money.of(100, EUR))],
                at=T0,
            )
        assert refused.value.account_id == escrow
        with pytest.raises(EntryNotBalanced):
            book.post(
                kind=EntryKinds.ESCROW_RELEASE,
                memo="",
                initiated_by="test",
                legs=[(fees, Money.of(-100, EUR)), (pending, Money.of(99, EUR))],
                at=T0,
            )
        entry = book.post(
            kind=EntryKinds.ESCROW_RELEASE,
            memo="fees may go negative, pending may not",
            initiated_by="test",
            legs=[(fees, Money.of(-100, EUR)), (pending, Money.of(100, EUR)), (escrow, Money.of(0, EUR))],
            at=T0,
        )
        assert len(uow.store.entries[entry].postings) == 2  # the zero leg is left out
        assert (book.balance(pending), book.balance(fees)) == (Money.of(100, EUR), Money.of(-100, EUR))
        assert uow.store.entries[entry].kind is EntryKind.ESCROW_RELEASE
