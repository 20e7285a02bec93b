"""Read-only SQL units of work (``SqlUnitOfWork(..., read_only=True)``), the kind query use
cases run in: they read what was committed, never wait for a writer nor hold one up, and
refuse every write and ``commit()`` before the database sees it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from adapters.sql.unit_of_work import ReadOnlyViolation, SqlUnitOfWork
from core.escrow.domain import ContractId, PayoutId
from core.ledger.domain import Account, AccountKind, apply_entry
from core.ledger.ports import SnapshotLine
from core.shared.ids import IdempotencyKey, SnapshotId, TokenId, new_id
from core.shared.money import Money
from core.shared.timers import Timer

from ..builders import AUDIT_CHAINS, EUR, T0, a_contract, a_draft, a_payout, a_token, a_user, a_wallet, an_entry
from ..threads import in_background
from .outbox import some_events


def _writes(wallet: Account) -> dict[str, Callable[[Any], object]]:
    """Every write a unit of work offers, each as it would be called."""
    other = a_wallet()
    entry = an_entry((wallet.id, 5), (other.id, -5))
    return {
        "accounts.add": lambda uow: uow.accounts.add(a_wallet()),
        "accounts.lock": lambda uow: uow.accounts.lock([wallet.id]),
        "accounts.save_balances": lambda uow: uow.accounts.save_balances([wallet]),
        "accounts.ensure_platform": lambda uow: uow.accounts.ensure_platform(
            AccountKind.GATEWAY_CLEARING, EUR, new_id("label"), at=T0
        ),
        "journal.append": lambda uow: uow.journal.append(entry, {wallet.id: Money(5, EUR), other.id: None}),
        "snapshots.add": lambda uow: uow.snapshots.add(
            SnapshotId(new_id("snap")), T0, [SnapshotLine(account_id=wallet.id, balance=Money(0, EUR))]
        ),
        "users.add": lambda uow: uow.users.add(a_user()),
        "tokens.add": lambda uow: uow.tokens.add(a_token(a_user())),
        "tokens.lock": lambda uow: uow.tokens.lock(TokenId("tok_none")),
        "tokens.save": lambda uow: uow.tokens.save(a_token(a_user())),
        "idempotency.claim": lambda uow: uow.idempotency.claim(
            "user:usr_x", IdempotencyKey(new_id("key")), command="c", fingerprint="f", at=T0, result_type=dict
        ),
        "idempotency.complete": lambda uow: uow.idempotency.complete("user:usr_x", IdempotencyKey("key_x"), {}),
        "audit.append": lambda uow: uow.audit.append(a_draft()),
        "outbox.add": lambda uow: uow.outbox.add(some_events()),
        "contracts.add": lambda uow: uow.contracts.add(a_contract()),
        "contracts.lock": lambda uow: uow.contracts.lock(ContractId("ctr_none")),
        "contracts.save": lambda uow: uow.contracts.save(a_contract()),
        "payouts.add": lambda uow: uow.payouts.add(a_payout("usr_x", wallet.id, other.id)),
        "payouts.lock": lambda uow: uow.payouts.lock(PayoutId("pay_none")),
        "payouts.save": lambda uow: uow.payouts.save(a_payout("usr_x", wallet.id, other.id)),
        "timers.schedule": lambda uow: uow.timers.schedule(Timer.new("tests.alarm", T0, {})),
        "timers.claim": lambda uow: uow.timers.claim("tmr_none"),
        "timers.mark_fired": lambda uow: uow.timers.mark_fired("tmr_none", at=T0, outcome="obsolete"),
        "commit": lambda uow: uow.commit(),
    }


WRITES = sorted(_writes(a_wallet()))


@contextmanager
def _statements_sent(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


class ReadOnlyUnitOfWorkContract:
    """Subclasses supply ``engine`` (migrated) through the SQL adapter fixtures."""

    @pytest.fixture
    def reader(self, engine: Engine) -> Callable[[], SqlUnitOfWork]:
        return lambda: SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS, read_only=True)

    @pytest.fixture
    def writer(self, engine: Engine) -> Callable[[], SqlUnitOfWork]:
        return lambda: SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS)

    @pytest.fixture
    def wallet(self, writer: Callable[[], SqlUnitOfWork]) -> Account:
        user = a_user()
        wallet = a_wallet(user.id)
        with writer() as uow:
            uow.users.add(user)
            uow.accounts.add(wallet)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
            entry = an_entry((wallet.id, 700), (clearing.id, -700))
            locked = uow.accounts.lock([wallet.id])
            after = apply_entry(entry, {**locked, clearing.id: clearing})
            uow.accounts.save_balances(locked.values())
            uow.journal.append(entry, after)
            uow.commit()
        return wallet

    def test_a_read_only_unit_of_work_reads_what_was_committed(
        self, reader: Callable[[], SqlUnitOfWork], wallet: Account
    ) -> None:
        with reader() as uow:
            assert uow.accounts.get(wallet.id).balance == Money(700, EUR)
            [line] = uow.journal.statement(wallet.id, before_seq=None, limit=10)
            assert uow.users.user_exists(wallet.owner_id)
            clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)  # exists
            assert uow.journal.derived_balance(clearing.id, EUR) == Money(-700, EUR)
        assert line.amount == Money(700, EUR)

    @pytest.mark.parametrize("write", WRITES)
    def test_every_write_and_commit_is_refused_before_anything_is_written(
        self, engine: Engine, reader: Callable[[], SqlUnitOfWork], wallet: Account, write: str
    ) -> None:
        call = _writes(wallet)[write]
        with reader() as uow:
            uow.accounts.get(wallet.id)  # the transaction has begun
            with _statements_sent(engine) as sent, pytest.raises(ReadOnlyViolation, match="read-only"):
                call(uow)
            # ensure_platform looks for the account first; nothing else reaches the database.
            assert [statement for statement in sent if not statement.lstrip().startswith("SELECT")] == []

    def test_read_only_and_dry_run_together_are_refused(self, engine: Engine) -> None:
        with pytest.raises(ValueError, match="read-only"):
            SqlUnitOfWork(engine, audit_chains=AUDIT_CHAINS, read_only=True, dry_run=True)

    def test_a_reader_goes_ahead_while_a_writer_holds_its_locks(
        self, reader: Callable[[], SqlUnitOfWork], writer: Callable[[], SqlUnitOfWork], wallet: Account
    ) -> None:
        def read_balance() -> Money:
            with reader() as uow:
                return uow.accounts.get(wallet.id).balance

        with writer() as uow:  # on SQLite: the write lock, taken at BEGIN IMMEDIATE
            [locked] = uow.accounts.lock([wallet.id]).values()  # on PostgreSQL: the row lock
            locked.apply(Money(-100, EUR))
            uow.accounts.save_balances([locked])
            # A reader that waited for this writer would time out (then fail) or hang here.
            assert in_background(read_balance)() == Money(700, EUR)  # the committed balance
            uow.commit()
        assert read_balance() == Money(600, EUR)

    def test_a_writer_commits_while_a_reader_is_open(
        self, reader: Callable[[], SqlUnitOfWork], writer: Callable[[], SqlUnitOfWork], wallet: Account
    ) -> None:
        def add_user() -> None:
            with writer() as uow:
                uow.users.add(a_user())
                uow.commit()

        with reader() as uow:
            assert uow.accounts.get(wallet.id).balance == Money(700, EUR)  # a read snapshot is open
            in_background(add_user)()  # a writer that waited for this reader would time out

    def test_a_pooled_connection_writes_again_after_serving_a_reader(
        self, reader: Callable[[], SqlUnitOfWork], writer: Callable[[], SqlUnitOfWork], wallet: Account
    ) -> None:
        user = a_user()
        for _ in range(3):  # the pool hands the same idle connection back each time
            with reader() as uow:
                assert not uow.users.user_exists(user.id)
        with writer() as uow:
            uow.users.add(user)
            uow.commit()
        with reader() as uow:
            assert uow.users.user_exists(user.id)
