"""Many threads through the real use cases: no lost update, no duplicate execution, no
driver error leaking, whatever the adapter's way of serialising writers."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from core.ledger.domain import InsufficientFunds
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshotsCommand
from core.shared.actor import Actor
from core.shared.ids import AccountId
from core.shared.money import Money
from core.shared.time import SystemClock

from ..builders import EUR, SYSTEM
from ..harness import MakeUow
from ..threads import race
from .end_to_end import Gigcore, a_correlation, a_key

THREADS = 8
TRANSFERS_PER_THREAD = 15
WALLETS = 4
START_MINOR = 10_000
SNAPSHOT_PAUSE_S = 0.05


class ConcurrencyContract:
    """Subclasses supply ``make_uow``."""

    @pytest.fixture
    def gigcore(self, make_uow: MakeUow) -> Gigcore:
        return Gigcore.wire(make_uow, SystemClock())

    @pytest.fixture
    def wallets(self, gigcore: Gigcore) -> list[tuple[Actor, AccountId]]:
        members = [gigcore.member(f"member-{n}") for n in range(WALLETS)]
        return [(m, gigcore.funded_wallet(m, START_MINOR)) for m in members]

    def test_parallel_transfers_between_shared_wallets_lose_no_update(
        self, gigcore: Gigcore, make_uow: MakeUow, wallets: list[tuple[Actor, AccountId]]
    ) -> None:
        done = threading.Event()
        snapshot_totals: list[int] = []

        def transfers(seed: int) -> Counter[str]:
            rng = random.Random(seed)
            outcomes: Counter[str] = Counter()
            for _ in range(TRANSFERS_PER_THREAD):
                (owner, source), (_, target) = rng.sample(wallets, 2)
                try:
                    gigcore.move(owner, source, target, rng.randint(1, 4_000))
                    outcomes["moved"] += 1
                except InsufficientFunds:
                    outcomes["refused"] += 1
            return outcomes

        def snapshots() -> int:
            # Balances are read in one consistent snapshot while transfers commit.
            # (The pause leaves the writers room: SQLite's busy handler is not fair.)
            taken = 0
            while True:
                result = gigcore.take_snapshots(
                    TakeBalanceSnapshotsCommand(by=SYSTEM, idempotency_key=a_key(), correlation_id=a_correlation())
                )
                snapshot_totals.extend(t.total_minor for t in result.totals)
                taken += 1
                if done.wait(SNAPSHOT_PAUSE_S):
                    return taken

        def workers() -> list[object]:
            try:
                return race(*[lambda seed=seed: transfers(seed) for seed in range(THREADS)])
            finally:
                done.set()

        outcomes, taken = race(workers, snapshots)
        assert taken, "no snapshot was taken"
        assert all(isinstance(o, Counter) for o in outcomes), outcomes  # nothing else was raised
        moved = sum(o["moved"] for o in outcomes)
        assert moved + sum(o["refused"] for o in outcomes) == THREADS * TRANSFERS_PER_THREAD
        assert moved > 0
        assert set(snapshot_totals) == {0}

        with make_uow() as uow:
            balances = {aid: uow.accounts.get(aid).balance for _, aid in wallets}
            summed = {aid: uow.journal.derived_balance(aid, EUR) for _, aid in wallets}
            postings = sum(len(uow.journal.statement(aid, before_seq=None, limit=10_000)) for _, aid in wallets)
        assert balances == summed  # every running balance equals the sum of its postings
        assert sum(b.minor for b in balances.values()) == WALLETS * START_MINOR
        assert all(not b.is_negative for b in balances.values())
        assert postings == WALLETS + 2 * moved  # one per deposit, two per transfer
        verification = gigcore.audit()
        assert verification.ok, verification.broken

    def test_one_idempotency_key_sent_twice_at_once_executes_once(
        self, gigcore: Gigcore, make_uow: MakeUow, wallets: list[tuple[Actor, AccountId]]
    ) -> None:
        (owner, source), (_, target) = wallets[:2]
        rounds = 5
        for _ in range(rounds):
            key = a_key()
            first, second = race(*[lambda key=key: gigcore.move(owner, source, target, 100, key=key)] * 2)
            assert not isinstance(first, BaseException), first
            assert first == second
        with make_uow() as uow:
            lines = uow.journal.statement(source, before_seq=None, limit=100)
            assert uow.accounts.get(source).balance == Money(START_MINOR - rounds * 100, EUR)
        assert len(lines) == 1 + rounds
        assert gigcore.audit().ok
