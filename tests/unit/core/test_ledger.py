from __future__ import annotations

import pytest

from core.ledger.domain import (
    AccountKind,
    EntryKind,
    EntryNotBalanced,
    InsufficientFunds,
    JournalEntry,
    Posting,
    WalletAlreadyOpen,
    WalletNotFound,
)
from core.ledger.use_cases.get_statement import GetStatementQuery
from core.ledger.use_cases.list_wallets import ListWalletsQuery
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshotsCommand
from core.shared.actor import Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.ids import AccountId, EntryId, correlation_id
from core.shared.money import CurrencyMismatch, Money
from tests.unit.core.world import SYSTEM, World, eur, key


def test_a_deposit_credits_the_wallet_and_debits_sandbox_clearing(world: World) -> None:
    alice = world.user("alice")
    wallet = world.wallet(alice)
    result = world.deposit(alice, wallet.wallet_id, eur(10_000))
    assert result.balance == eur(10_000)
    assert world.balance(alice, wallet.wallet_id) == eur(10_000)
    with world.runtime.new_unit_of_work() as uow:
        clearing = [b for b in uow.accounts.balances() if b.kind is AccountKind.GATEWAY_CLEARING]
    assert [c.balance for c in clearing] == [eur(-10_000)]


def test_a_transfer_moves_money_between_wallets_exactly(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob", Persona.PROVIDER)
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(10_000))
    result = world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(2_501))
    assert result.from_balance == eur(7_499)
    assert world.balance(bob, wb.wallet_id) == eur(2_501)
    assert world.totals() == {"EUR": 0}


def test_an_overdraft_is_refused_and_changes_nothing(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(100))
    with pytest.raises(InsufficientFunds):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(101))
    assert world.balance(alice, wa.wallet_id) == eur(100)
    assert world.balance(bob, wb.wallet_id) == eur(0)
    page = world.uc.get_statement()(GetStatementQuery(by=alice, wallet_id=wa.wallet_id))
    assert [line.kind for line in page.lines] == [EntryKind.DEPOSIT]


def test_a_transfer_in_another_currency_than_the_wallets_is_refused(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(100))
    with pytest.raises(CurrencyMismatch):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, Money.of(10, "USD"))
    assert world.balance(alice, wa.wallet_id) == eur(100)


def test_a_transfer_between_wallets_of_different_currencies_is_refused(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice, "EUR"), world.wallet(bob, "USD")
    world.deposit(alice, wa.wallet_id, eur(100))
    with pytest.raises(CurrencyMismatch):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(10))
    assert world.totals() == {"EUR": 0, "USD": 0}
    assert world.balance(alice, wa.wallet_id) == eur(100)


@pytest.mark.parametrize("minor", [0, -5])
def test_non_positive_transfers_are_refused(world: World, minor: int) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    with pytest.raises(InvalidInput):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(minor))


def test_a_transfer_to_the_same_wallet_is_refused(world: World) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(100))
    with pytest.raises(InvalidInput):
        world.transfer(alice, wa.wallet_id, wa.wallet_id, eur(10))


def test_unknown_wallets_are_not_found(world: World) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(1))
    with pytest.raises(WalletNotFound):
        world.transfer(alice, wa.wallet_id, AccountId("wal_nope"), eur(1))
    with pytest.raises(WalletNotFound):
        world.transfer(alice, AccountId("wal_nope"), wa.wallet_id, eur(1))
    with pytest.raises(WalletNotFound):
        world.balance(alice, AccountId("wal_nope"))


def test_another_users_wallet_is_indistinguishable_from_a_missing_one(world: World) -> None:
    alice, mallory = world.user("alice"), world.user("mallory")
    wa = world.wallet(alice)
    world.wallet(mallory)
    with pytest.raises(WalletNotFound) as seen:
        world.balance(mallory, wa.wallet_id)
    with pytest.raises(WalletNotFound) as missing:
        world.balance(mallory, AccountId("wal_0000"))
    assert seen.value.code == missing.value.code
    with pytest.raises(WalletNotFound):
        world.uc.get_statement()(GetStatementQuery(by=mallory, wallet_id=wa.wallet_id))
    with pytest.raises(WalletNotFound):
        world.deposit(mallory, wa.wallet_id, eur(5))


def test_nobody_can_spend_from_someone_elses_wallet(world: World) -> None:
    alice, mallory = world.user("alice"), world.user("mallory")
    wa, wm = world.wallet(alice), world.wallet(mallory)
    world.deposit(alice, wa.wallet_id, eur(100))
    with pytest.raises(WalletNotFound):
        world.transfer(mallory, wa.wallet_id, wm.wallet_id, eur(50))
    assert world.balance(alice, wa.wallet_id) == eur(100)


def test_support_may_read_any_wallet_but_not_move_its_money(world: World) -> None:
    alice, sue = world.user("alice"), world.user("sue", Persona.SUPPORT)
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(100))
    assert world.balance(sue, wa.wallet_id) == eur(100)
    listed = world.uc.list_wallets()(ListWalletsQuery(by=sue, owner_id=alice.id))
    assert [w.wallet_id for w in listed.wallets] == [wa.wallet_id]
    with pytest.raises(Forbidden):
        world.transfer(sue, wa.wallet_id, wa.wallet_id, eur(1))


def test_a_user_cannot_list_another_users_wallets(world: World) -> None:
    alice, mallory = world.user("alice"), world.user("mallory")
    with pytest.raises(Forbidden):
        world.uc.list_wallets()(ListWalletsQuery(by=mallory, owner_id=alice.id))


def test_finance_may_deposit_into_any_wallet(world: World) -> None:
    alice, fin = world.user("alice"), world.user("fin", Persona.FINANCE)
    wa = world.wallet(alice)
    world.deposit(fin, wa.wallet_id, eur(700))
    assert world.balance(alice, wa.wallet_id) == eur(700)


def test_one_wallet_per_currency(world: World) -> None:
    alice = world.user("alice")
    first = world.wallet(alice)
    with pytest.raises(WalletAlreadyOpen) as error:
        world.wallet(alice)
    assert error.value.wallet_id == first.wallet_id
    assert world.wallet(alice, "USD").currency == "USD"


def test_statement_pages_newest_first_without_gaps_or_repeats(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(1_000))
    for i in range(1, 8):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(i))
    seen, cursor = [], None
    while True:
        page = world.uc.get_statement()(GetStatementQuery(by=alice, wallet_id=wa.wallet_id, cursor=cursor, limit=3))
        seen.extend(page.lines)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [line.amount.minor for line in seen] == [-7, -6, -5, -4, -3, -2, -1, 1_000]
    assert [line.balance_after.minor for line in seen if line.balance_after] == [
        972,
        979,
        985,
        990,
        994,
        997,
        999,
        1_000,
    ]
    assert len({line.seq for line in seen}) == len(seen)


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_statement_page_size_is_bounded(world: World, limit: int) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    with pytest.raises(InvalidInput):
        world.uc.get_statement()(GetStatementQuery(by=alice, wallet_id=wa.wallet_id, limit=limit))


@pytest.mark.parametrize("cursor", ["x", "s", "s-1", "s1e9", "'; drop table"])
def test_a_forged_cursor_is_invalid_input(world: World, cursor: str) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    with pytest.raises(InvalidInput):
        world.uc.get_statement()(GetStatementQuery(by=alice, wallet_id=wa.wallet_id, cursor=cursor))


def test_an_unbalanced_entry_cannot_be_built() -> None:
    from datetime import UTC, datetime

    with pytest.raises(EntryNotBalanced):
        JournalEntry(
            id=EntryId("ent_1"),
            kind=EntryKind.TRANSFER,
            occurred_at=datetime.now(UTC),
            initiated_by="test",
            postings=(Posting(AccountId("a"), eur(5)), Posting(AccountId("b"), eur(-4))),
        )


def test_snapshots_record_every_account_and_balance_to_zero(world: World) -> None:
    alice, bob, fin = world.user("alice"), world.user("bob"), world.user("fin", Persona.FINANCE)
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(900))
    world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(300))
    result = world.uc.take_balance_snapshots()(
        TakeBalanceSnapshotsCommand(by=fin, idempotency_key=key(), correlation_id=correlation_id(None))
    )
    assert [(t.currency, t.accounts, t.total_minor) for t in result.totals] == [("EUR", 3, 0)]
    store = world.runtime.persistence.store()
    lines = {line.account_id: line.balance for sid, _, line in store.snapshots if sid == result.snapshot_id}
    assert lines[wa.wallet_id] == eur(600) and lines[wb.wallet_id] == eur(300)


def test_a_client_cannot_take_snapshots(world: World) -> None:
    alice = world.user("alice")
    with pytest.raises(Forbidden):
        world.uc.take_balance_snapshots()(
            TakeBalanceSnapshotsCommand(by=alice, idempotency_key=key(), correlation_id=correlation_id(None))
        )


def test_the_system_owns_no_wallet(world: World) -> None:
    from core.ledger.use_cases.open_wallet import OpenWalletCommand
    from core.shared.money import Currency

    with pytest.raises(Forbidden):
        world.uc.open_wallet()(
            OpenWalletCommand(
                by=SYSTEM, idempotency_key=key(), correlation_id=correlation_id(None), currency=Currency("EUR")
            )
        )


@pytest.mark.parametrize("memo", ["x" * 281, "nul\x00byte", "bell\x07", "new\nline"])
def test_memos_are_bounded_and_free_of_control_characters(world: World, memo: str) -> None:
    alice = world.user("alice")
    wa = world.wallet(alice)
    from core.ledger.use_cases.deposit_sandbox_funds import DepositSandboxFundsCommand

    with pytest.raises(InvalidInput):
        world.uc.deposit_sandbox_funds()(
            DepositSandboxFundsCommand(
                by=alice,
                idempotency_key=key(),
                correlation_id=correlation_id(None),
                wallet_id=wa.wallet_id,
                amount=eur(5),
                memo=memo,
            )
        )
    assert world.balance(alice, wa.wallet_id) == eur(0)


def test_a_sandbox_deposit_is_capped(world: World) -> None:
    from core.ledger.use_cases.deposit_sandbox_funds import MAX_SANDBOX_DEPOSIT

    alice = world.user("alice")
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(MAX_SANDBOX_DEPOSIT))
    with pytest.raises(InvalidInput):
        world.deposit(alice, wa.wallet_id, eur(MAX_SANDBOX_DEPOSIT + 1))
    assert world.balance(alice, wa.wallet_id) == eur(MAX_SANDBOX_DEPOSIT)


def test_a_sender_who_cannot_pay_learns_nothing_about_the_recipient(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    wa, wb = world.wallet(alice), world.wallet(bob)
    world.deposit(alice, wa.wallet_id, eur(5))
    with pytest.raises(InsufficientFunds):
        world.transfer(alice, wa.wallet_id, AccountId("wal_does_not_exist"), eur(6))
    with pytest.raises(InsufficientFunds):
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(6))
    with pytest.raises(WalletNotFound):
        world.transfer(alice, wa.wallet_id, AccountId("wal_does_not_exist"), eur(5))
