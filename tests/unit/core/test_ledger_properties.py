"""Random sequences of ledger operations keep the ledger's invariants.

The machine drives the real use cases (through the composition root) and keeps a tiny
model of what every wallet should hold. After every step:
- every journal entry balances per currency;
- the balances of all accounts sum to zero per currency;
- no wallet is negative, and every wallet holds what the model says;
- a replayed command returns its first result and changes nothing.

Runs on the in-memory graph here; tests/contract runs the same machine on SQLite and
PostgreSQL. ``GIGCORE_HYPOTHESIS_EXAMPLES`` raises the example count (see README).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from core.ledger.domain import InsufficientFunds, WalletAlreadyOpen
from core.shared.actor import Actor, Persona
from core.shared.errors import InvalidInput
from core.shared.money import CurrencyMismatch, Money
from tests.unit.core.world import World, key

EXAMPLES = int(os.environ.get("GIGCORE_HYPOTHESIS_EXAMPLES", "25"))
CURRENCIES = ("EUR", "USD", "JPY")


def unbalanced_entries(world: World) -> list[str]:
    """Entries whose postings do not sum to zero per currency, read from storage."""
    store = getattr(world.runtime.persistence, "store", None)
    if store is not None:
        sums: dict[tuple[str, str], int] = {}
        for row in store().postings:
            k = (row.entry.id, row.amount.currency.code)
            sums[k] = sums.get(k, 0) + row.amount.minor
        return sorted({entry for (entry, _), total in sums.items() if total != 0})
    from sqlalchemy import text  # the SQL graph: ask the database itself

    engine = world.runtime.persistence.engine()
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entry_id FROM postings GROUP BY entry_id, currency HAVING SUM(amount_minor) <> 0")
        )
        return [r[0] for r in rows]


class LedgerMachine(RuleBasedStateMachine):
    make_world: Callable[[], World] = staticmethod(World.in_memory)

    users = Bundle("users")
    wallets = Bundle("wallets")

    def __init__(self) -> None:
        super().__init__()
        self.world = self.make_world()
        self.model: dict[str, int] = {}  # wallet id -> expected minor units
        self.currency: dict[str, str] = {}
        self.owner: dict[str, Actor] = {}
        self.opened: set[tuple[str, str]] = set()
        self.last: tuple[Callable[[], Any], Any] | None = None
        self.n = 0

    @initialize(target=users)
    def first_user(self) -> Actor:
        return self._new_user()

    def _new_user(self) -> Actor:
        self.n += 1
        return self.world.user(f"u{self.n}-{key()[:12]}", Persona.CLIENT)

    @rule(target=users)
    def add_user(self) -> Actor:
        return self._new_user()

    @rule(target=wallets, user=users, currency=st.sampled_from(CURRENCIES))
    def open_wallet(self, user: Actor, currency: str) -> Any:
        if (user.id, currency) in self.opened:
            with pytest.raises(WalletAlreadyOpen):
                self.world.wallet(user, currency)
            return multiple()
        view = self.world.wallet(user, currency)
        self.opened.add((user.id, currency))
        self.model[view.wallet_id] = 0
        self.currency[view.wallet_id] = currency
        self.owner[view.wallet_id] = user
        return view.wallet_id

    @rule(wallet=wallets, minor=st.integers(min_value=-5, max_value=10**7))
    def deposit(self, wallet: str, minor: int) -> None:
        owner, amount = self.owner[wallet], Money.of(minor, self.currency[wallet])
        k = key()

        def send() -> Any:
            return self.world.deposit(owner, wallet, amount, k)  # type: ignore[arg-type]

        if minor <= 0:
            with pytest.raises(InvalidInput):
                send()
            return
        self.last = (send, send())
        self.model[wallet] += minor

    @rule(source=wallets, dest=wallets, minor=st.integers(min_value=-1, max_value=10**7), same=st.booleans())
    def transfer(self, source: str, dest: str, minor: int, same: bool) -> None:
        owner = self.owner[source]
        currency = self.currency[source] if same else self.currency[dest]
        amount = Money.of(minor, currency)
        k = key()

        def send() -> Any:
            return self.world.transfer(owner, source, dest, amount, k)  # type: ignore[arg-type]

        if minor <= 0 or source == dest:
            with pytest.raises(InvalidInput):
                send()
        elif currency != self.currency[source]:
            with pytest.raises(CurrencyMismatch):
                send()
        elif minor > self.model[source]:  # the sender's rules come before the recipient's
            with pytest.raises(InsufficientFunds):
                send()
        elif self.currency[dest] != currency:
            with pytest.raises(CurrencyMismatch):
                send()
        else:
            self.last = (send, send())
            self.model[source] -= minor
            self.model[dest] += minor

    @rule()
    def replay_last(self) -> None:
        if self.last is None:
            return
        send, first = self.last
        assert send() == first

    @rule(wallet=consumes(wallets))
    def forget_wallet(self, wallet: str) -> None:
        """Wallets drop out of the bundle (not the ledger); keeps sequences varied."""

    @invariant()
    def wallets_hold_what_the_model_says(self) -> None:
        for wallet, expected in self.model.items():
            assert self.world.balance(self.owner[wallet], wallet).minor == expected  # type: ignore[arg-type]

    @invariant()
    def balances_sum_to_zero_per_currency(self) -> None:
        assert all(total == 0 for total in self.world.totals().values())

    @invariant()
    def every_entry_balances(self) -> None:
        assert unbalanced_entries(self.world) == []

    @invariant()
    def no_wallet_is_negative(self) -> None:
        assert all(v >= 0 for v in self.model.values())


LedgerMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerInMemory = LedgerMachine.TestCase
