from __future__ import annotations

from collections import defaultdict

import pytest

from core.ledger.domain import PLATFORM_OWNER, AccountAlreadyExists, AccountKind, AccountNotFound, apply_entry
from core.shared.errors import ConcurrentUpdate
from core.shared.ids import AccountId
from core.shared.money import Money

from ..builders import EUR, JPY, T0, a_wallet, an_entry
from ..harness import MakeUow
from ..threads import race


def _snapshot(account: object) -> tuple[object, ...]:
    return tuple(getattr(account, f) for f in ("id", "owner_id", "kind", "currency", "label", "balance", "version"))


class AccountsContract:
    """Behaviour every ``Accounts`` adapter has. Subclasses supply ``make_uow``."""

    def test_added_account_reads_back_equal(self, make_uow: MakeUow) -> None:
        wallet = a_wallet(label="savings")
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow:
            stored = uow.accounts.get(wallet.id)
        assert _snapshot(stored) == _snapshot(wallet)
        assert stored.opened_at == wallet.opened_at
        assert stored.opened_at.isoformat() == wallet.opened_at.isoformat()

    def test_unknown_account_raises_account_not_found(self, make_uow: MakeUow) -> None:
        with make_uow() as uow, pytest.raises(AccountNotFound):
            uow.accounts.get(AccountId("wal_missing"))

    def test_taken_slot_raises_account_already_exists_and_the_transaction_goes_on(self, make_uow: MakeUow) -> None:
        first = a_wallet()
        twin = a_wallet(first.owner_id)
        other = a_wallet(first.owner_id, JPY)
        with make_uow() as uow:
            uow.accounts.add(first)
            uow.commit()
        with make_uow() as uow:
            with pytest.raises(AccountAlreadyExists):
                uow.accounts.add(twin)
            uow.accounts.add(other)
            uow.commit()
        with make_uow() as uow:
            assert [a.id for a in uow.accounts.of_owner(first.owner_id, AccountKind.WALLET)] == [first.id, other.id]

    def test_another_label_or_currency_is_another_slot(self, make_uow: MakeUow) -> None:
        first = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(first)
            uow.accounts.add(a_wallet(first.owner_id, label="savings"))
            uow.accounts.add(a_wallet(first.owner_id, JPY))
            uow.commit()
        with make_uow() as uow:
            assert len(uow.accounts.of_owner(first.owner_id, AccountKind.WALLET)) == 3

    def test_find_looks_accounts_up_by_slot(self, make_uow: MakeUow) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow:
            found = uow.accounts.find(owner_id=wallet.owner_id, kind=AccountKind.WALLET, currency=EUR)
            assert found is not None
            assert found.id == wallet.id
            assert uow.accounts.find(owner_id=wallet.owner_id, kind=AccountKind.WALLET, currency=JPY) is None
            assert uow.accounts.find(owner_id=wallet.owner_id, kind=AccountKind.WALLET, currency=EUR, label="x") is None

    def test_of_owner_lists_one_kind_ordered_by_currency(self, make_uow: MakeUow) -> None:
        jpy = a_wallet(currency=JPY)
        eur = a_wallet(jpy.owner_id, EUR)
        with make_uow() as uow:
            uow.accounts.add(jpy)
            uow.accounts.add(eur)
            uow.accounts.add(a_wallet())  # someone else's
            uow.commit()
        with make_uow() as uow:
            assert [a.id for a in uow.accounts.of_owner(jpy.owner_id, AccountKind.WALLET)] == [eur.id, jpy.id]
            assert uow.accounts.of_owner(jpy.owner_id, AccountKind.GATEWAY_CLEARING) == []

    def test_lock_returns_the_accounts_in_ascending_id_order(self, make_uow: MakeUow) -> None:
        wallets = [a_wallet() for _ in range(3)]
        with make_uow() as uow:
            for wallet in wallets:
                uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow:
            locked = uow.accounts.lock([w.id for w in reversed(wallets)])
        assert list(locked) == sorted(w.id for w in wallets)
        assert all(locked[w.id].balance == w.balance for w in wallets)

    def test_lock_names_the_first_missing_id(self, make_uow: MakeUow) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow, pytest.raises(AccountNotFound) as raised:
            uow.accounts.lock([AccountId("wal_zz"), wallet.id, AccountId("wal_00")])
        assert raised.value.account_id == "wal_00"

    def test_lock_also_loads_platform_accounts(self, make_uow: MakeUow) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            uow.commit()
        with make_uow() as uow:
            locked = uow.accounts.lock([wallet.id, clearing.id])
        assert set(locked) == {wallet.id, clearing.id}
        assert locked[clearing.id].kind is AccountKind.GATEWAY_CLEARING

    def test_saved_balance_persists_and_moves_the_version(self, make_uow: MakeUow) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow:
            locked = uow.accounts.lock([wallet.id])[wallet.id]
            locked.balance = Money(700, EUR)
            uow.accounts.save_balances([locked])
            assert locked.version == 1
            uow.commit()
        with make_uow() as uow:
            stored = uow.accounts.get(wallet.id)
        assert (stored.balance, stored.version) == (Money(700, EUR), 1)

    def test_stale_version_raises_concurrent_update(self, make_uow: MakeUow) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        with make_uow() as uow:
            stale = uow.accounts.get(wallet.id)
        with make_uow() as uow:
            fresh = uow.accounts.lock([wallet.id])[wallet.id]
            fresh.balance = Money(10, EUR)
            uow.accounts.save_balances([fresh])
            uow.commit()
        with make_uow() as uow:
            stale.balance = Money(99, EUR)
            with pytest.raises(ConcurrentUpdate):
                uow.accounts.save_balances([stale])
        with make_uow() as uow:
            assert uow.accounts.get(wallet.id).balance == Money(10, EUR)

    def test_platform_account_is_opened_once(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            first = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            again = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            uow.commit()
        with make_uow() as uow:
            later = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            other = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, JPY, "sandbox", at=T0)
        assert first.id == again.id == later.id != other.id
        assert (first.owner_id, first.kind, first.label) == (PLATFORM_OWNER, AccountKind.GATEWAY_CLEARING, "sandbox")

    def test_platform_account_opened_concurrently_is_one_account(self, make_uow: MakeUow) -> None:
        def open_clearing() -> AccountId:
            with make_uow() as uow:
                account = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
                uow.commit()
                return AccountId(account.id)

        outcomes = race(*[open_clearing] * 4)
        assert all(isinstance(o, str) for o in outcomes), outcomes
        assert len(set(outcomes)) == 1
        with make_uow() as uow:
            assert len(uow.accounts.of_owner(PLATFORM_OWNER, AccountKind.GATEWAY_CLEARING)) == 1

    def test_one_of_two_concurrent_adds_to_a_slot_wins(self, make_uow: MakeUow) -> None:
        owner = a_wallet().owner_id

        def add() -> str:
            with make_uow() as uow:
                uow.accounts.add(a_wallet(owner))
                uow.commit()
                return "added"

        outcomes = race(add, add)
        assert sorted(type(o).__name__ for o in outcomes) == ["AccountAlreadyExists", "str"], outcomes

    def test_balances_report_running_and_derived_balances_that_sum_to_zero(self, make_uow: MakeUow) -> None:
        wallet, other = a_wallet(), a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.accounts.add(other)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            uow.commit()
        for target, amount in ((wallet, 500), (other, 250), (wallet, 125)):
            with make_uow() as uow:
                locked = uow.accounts.lock([target.id])
                platform = uow.accounts.get(clearing.id)
                entry = an_entry((target.id, amount), (clearing.id, -amount))
                after = apply_entry(entry, {**locked, clearing.id: platform})
                uow.accounts.save_balances([locked[target.id]])  # as the use cases do
                uow.journal.append(entry, after)
                uow.commit()
        with make_uow() as uow:
            balances = {b.account_id: b for b in uow.accounts.balances()}
            stored_platform = uow.accounts.get(clearing.id)
        assert balances[wallet.id].balance == Money(625, EUR)
        assert balances[other.id].balance == Money(250, EUR)
        assert balances[clearing.id].balance == Money(-875, EUR)
        assert balances[clearing.id].kind is AccountKind.GATEWAY_CLEARING
        assert balances[clearing.id].owner_id == PLATFORM_OWNER
        totals: dict[str, int] = defaultdict(int)
        for b in balances.values():
            totals[b.balance.currency.code] += b.balance.minor
        assert totals == {"EUR": 0}
        # No running balance is kept on a platform account's row (never locked, never updated).
        assert (stored_platform.balance, stored_platform.version) == (Money(0, EUR), 0)

    def test_balances_of_an_empty_ledger_are_empty(self, make_uow: MakeUow) -> None:
        with make_uow() as uow:
            assert uow.accounts.balances() == []
