from __future__ import annotations

from datetime import timedelta

import pytest

from core.ledger.domain import AccountKind, EntryKind, JournalEntry, StatementLine, apply_entry
from core.ledger.ports import EntryCursor
from core.shared.ids import AccountId
from core.shared.money import Money

from ..builders import EUR, T0, a_wallet, an_entry
from ..harness import MakeUow

Trio = tuple[AccountId, AccountId, AccountId]


class JournalContract:
    """Behaviour every ``Journal`` adapter has: append-only entries, statements paged
    newest first by seq, and derived balances."""

    @pytest.fixture
    def accounts(self, make_uow: MakeUow) -> Trio:
        """Two wallets and a clearing account, committed."""
        alice, bob = a_wallet(), a_wallet()
        with make_uow() as uow:
            uow.accounts.add(alice)
            uow.accounts.add(bob)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            uow.commit()
        return alice.id, bob.id, clearing.id

    def _post(self, make_uow: MakeUow, entry: JournalEntry) -> None:
        with make_uow() as uow:
            ids = [p.account_id for p in entry.postings]
            loaded = {aid: uow.accounts.get(aid) for aid in ids}
            after = apply_entry(entry, loaded)
            uow.accounts.save_balances(a for a in loaded.values() if a.kind.keeps_running_balance)
            uow.journal.append(entry, after)
            uow.commit()

    def test_an_entry_shows_on_the_statement_of_each_account(self, make_uow: MakeUow, accounts: Trio) -> None:
        alice, _bob, clearing = accounts
        entry = an_entry((alice, 1250), (clearing, -1250), memo="top-up ✓")
        self._post(make_uow, entry)
        with make_uow() as uow:
            [wallet_line] = uow.journal.statement(alice, before_seq=None, limit=10)
            [clearing_line] = uow.journal.statement(clearing, before_seq=None, limit=10)
        assert wallet_line == StatementLine(
            seq=wallet_line.seq,
            entry_id=entry.id,
            kind=EntryKind.TRANSFER,
            occurred_at=T0,
            memo="top-up ✓",
            amount=Money(1250, EUR),
            balance_after=Money(1250, EUR),
        )
        assert wallet_line.occurred_at.isoformat() == T0.isoformat()
        assert clearing_line.amount == Money(-1250, EUR)
        assert clearing_line.balance_after is None  # no running balance on platform accounts

    def test_statement_pages_newest_first_without_gaps_or_repeats(self, make_uow: MakeUow, accounts: Trio) -> None:
        alice, bob, clearing = accounts
        for n in range(1, 8):
            self._post(make_uow, an_entry((alice, n), (clearing, -n), at=T0 + timedelta(seconds=n)))
            self._post(make_uow, an_entry((bob, 100), (clearing, -100)))  # interleaved, other account
        pages: list[list[StatementLine]] = []
        before: int | None = None
        with make_uow() as uow:
            full = uow.journal.statement(alice, before_seq=None, limit=100)
            while True:
                page = uow.journal.statement(alice, before_seq=before, limit=3)
                if not page:
                    break
                pages.append(page)
                before = page[-1].seq
        assert [line.amount.minor for line in full] == [7, 6, 5, 4, 3, 2, 1]
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [line for page in pages for line in page] == full
        seqs = [line.seq for line in full]
        assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
        assert [line.balance_after.minor for line in full if line.balance_after] == [28, 21, 15, 10, 6, 3, 1]

    def test_statement_of_an_account_without_postings_is_empty(self, make_uow: MakeUow, accounts: Trio) -> None:
        with make_uow() as uow:
            assert uow.journal.statement(accounts[0], before_seq=None, limit=10) == []
            assert uow.journal.statement(AccountId("wal_missing"), before_seq=5, limit=10) == []

    def test_derived_balance_is_the_sum_of_postings(self, make_uow: MakeUow, accounts: Trio) -> None:
        alice, bob, clearing = accounts
        self._post(make_uow, an_entry((alice, 300), (clearing, -300)))
        self._post(make_uow, an_entry((bob, 45), (clearing, -45)))
        self._post(make_uow, an_entry((alice, -20), (bob, 20)))
        with make_uow() as uow:
            assert uow.journal.derived_balance(clearing, EUR) == Money(-345, EUR)
            assert uow.journal.derived_balance(alice, EUR) == Money(280, EUR)
            assert uow.journal.derived_balance(bob, EUR) == uow.accounts.get(bob).balance == Money(65, EUR)

    def test_derived_balance_without_postings_is_zero(self, make_uow: MakeUow, accounts: Trio) -> None:
        with make_uow() as uow:
            assert uow.journal.derived_balance(accounts[2], EUR) == Money(0, EUR)

    def test_an_entry_is_appended_once_and_never_replaced(self, make_uow: MakeUow, accounts: Trio) -> None:
        alice, _bob, clearing = accounts
        entry = an_entry((alice, 10), (clearing, -10), memo="first")
        self._post(make_uow, entry)
        rewrite = JournalEntry(
            id=entry.id,
            kind=entry.kind,
            occurred_at=entry.occurred_at,
            initiated_by=entry.initiated_by,
            memo="rewritten",
            postings=entry.postings,
        )
        with make_uow() as uow, pytest.raises(ValueError, match="append-only"):
            uow.journal.append(rewrite, {alice: Money(10, EUR), clearing: None})
        with make_uow() as uow:
            lines = uow.journal.statement(alice, before_seq=None, limit=10)
        assert [(line.entry_id, line.memo) for line in lines] == [(entry.id, "first")]

    def test_entries_between_is_the_half_open_period_in_time_then_id_order(
        self, make_uow: MakeUow, accounts: Trio
    ) -> None:
        alice, bob, clearing = accounts
        start, end = T0 + timedelta(days=1), T0 + timedelta(days=2)
        before = an_entry((alice, 1), (clearing, -1), at=start - timedelta(microseconds=1))
        first = an_entry((alice, 2), (clearing, -2), at=start, memo="first ✓")
        same_instant = [an_entry((bob, 3 + n), (clearing, -3 - n), at=start + timedelta(hours=5)) for n in range(3)]
        last = an_entry((alice, -1), (bob, 1), at=end - timedelta(microseconds=1))
        at_end = an_entry((alice, 4), (clearing, -4), at=end)  # excluded: the period is half-open
        for entry in (at_end, *same_instant, before, first, last):  # not in time order
            self._post(make_uow, entry)
        with make_uow() as uow:
            got = uow.journal.entries_between(start, end, after=None, limit=100)
        expected = [first, *sorted(same_instant, key=lambda e: e.id), last]
        assert got == expected
        assert [posting.amount.minor for posting in got[-1].postings] == [-1, 1]  # append order
        assert got[0].occurred_at.isoformat() == start.isoformat()

    def test_entries_between_pages_by_cursor_without_gaps_or_repeats(self, make_uow: MakeUow, accounts: Trio) -> None:
        alice, _bob, clearing = accounts
        for n in range(1, 12):  # pairs share an instant, so the id breaks ties across pages
            self._post(make_uow, an_entry((alice, n), (clearing, -n), at=T0 + timedelta(seconds=n // 2)))
        end = T0 + timedelta(days=1)
        pages: list[list[JournalEntry]] = []
        after: EntryCursor | None = None
        with make_uow() as uow:
            full = uow.journal.entries_between(T0, end, after=None, limit=100)
            while page := uow.journal.entries_between(T0, end, after=after, limit=4):
                pages.append(page)
                after = EntryCursor(occurred_at=page[-1].occurred_at, entry_id=page[-1].id)
            assert uow.journal.entries_between(end, end + timedelta(days=1), after=None, limit=10) == []
        assert [len(p) for p in pages] == [4, 4, 3]
        assert [entry for page in pages for entry in page] == full
        assert sorted(entry.postings[0].amount.minor for entry in full) == list(range(1, 12))
        keys = [(entry.occurred_at, entry.id) for entry in full]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
