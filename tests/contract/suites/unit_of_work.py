from __future__ import annotations

from typing import Any

import pytest

from core.ledger.domain import AccountKind, AccountNotFound, apply_entry
from core.ledger.ports import SnapshotLine
from core.shared.ids import IdempotencyKey, SnapshotId, new_id
from core.shared.money import Money

from ..builders import EUR, T0, a_draft, a_token, a_user, a_wallet, an_entry
from ..harness import MakeUow, Probe
from .idempotency import RESULTS, _claim
from .outbox import some_events


class _Written:
    """One of everything, written through every port of one unit of work."""

    def __init__(self, uow: Any) -> None:
        self.user = a_user()
        self.token = a_token(self.user)
        self.wallet = a_wallet(self.user.id)
        self.key = IdempotencyKey(new_id("key"))
        self.snapshot_id = SnapshotId(new_id("snap"))
        self.events = some_events()
        uow.users.add(self.user)
        uow.tokens.add(self.token)
        uow.accounts.add(self.wallet)
        clearing = uow.accounts.ensure_platform(AccountKind.GATEWAY_CLEARING, EUR, "sandbox", at=T0)
        self.entry = an_entry((self.wallet.id, 900), (clearing.id, -900))
        locked = uow.accounts.lock([self.wallet.id])
        after = apply_entry(self.entry, {**locked, clearing.id: clearing})
        uow.accounts.save_balances(locked.values())
        uow.journal.append(self.entry, after)
        uow.snapshots.add(self.snapshot_id, T0, [SnapshotLine(account_id=self.wallet.id, balance=Money(900, EUR))])
        assert _claim(uow, self.key, scope="user:" + self.user.id) is None
        uow.idempotency.complete("user:" + self.user.id, self.key, RESULTS["transfer"])
        self.record = uow.audit.append(a_draft())
        uow.outbox.add(self.events)


def _absent(make_uow: MakeUow, probe: Probe, written: _Written) -> None:
    with make_uow() as uow:
        assert not uow.users.user_exists(written.user.id)
        assert uow.users.by_handle(written.user.handle) is None
        assert uow.tokens.by_hash(written.token.token_hash) is None
        with pytest.raises(AccountNotFound):
            uow.accounts.get(written.wallet.id)
        assert uow.accounts.balances() == []
        assert uow.journal.statement(written.wallet.id, before_seq=None, limit=10) == []
        assert uow.audit_log.heads() == []
        assert _claim(uow, written.key, scope="user:" + written.user.id) is None  # the key is free again
    assert probe.snapshot(written.snapshot_id) == {}
    assert probe.outbox() == []


class UnitOfWorkContract:
    """Behaviour every unit of work has: all or nothing. Subclasses supply ``make_uow``
    and ``probe``."""

    def test_commit_persists_every_port(self, make_uow: MakeUow, probe: Probe) -> None:
        with make_uow() as uow:
            written = _Written(uow)
            uow.commit()
        with make_uow() as uow:
            assert uow.users.get(written.user.id).handle == written.user.handle
            assert uow.tokens.get(written.token.id).token_hash == written.token.token_hash
            assert uow.accounts.get(written.wallet.id).balance == Money(900, EUR)
            [line] = uow.journal.statement(written.wallet.id, before_seq=None, limit=10)
            assert line.entry_id == written.entry.id
            assert _claim(uow, written.key, scope="user:" + written.user.id) == RESULTS["transfer"]
            assert uow.audit_log.records(written.record.chain, after_seq=0, limit=10) == [written.record]
        assert probe.snapshot(written.snapshot_id) == {written.wallet.id: (T0, Money(900, EUR))}
        assert [event_id for _, event_id, _ in probe.outbox()] == [e.event_id for e in written.events]

    def test_leaving_without_commit_discards_every_port(self, make_uow: MakeUow, probe: Probe) -> None:
        with make_uow() as uow:
            written = _Written(uow)
        _absent(make_uow, probe, written)

    def test_an_error_in_the_block_discards_everything_and_propagates(self, make_uow: MakeUow, probe: Probe) -> None:
        class Boom(Exception):
            pass

        with pytest.raises(Boom), make_uow() as uow:
            written = _Written(uow)
            raise Boom
        _absent(make_uow, probe, written)

    def test_a_dry_run_commit_writes_nothing(self, make_uow: MakeUow, probe: Probe) -> None:
        with make_uow(dry_run=True) as uow:
            written = _Written(uow)
            uow.commit()
        _absent(make_uow, probe, written)

    def test_one_unit_of_work_serves_one_transaction_after_another(self, make_uow: MakeUow) -> None:
        uow = make_uow()
        first, second = a_user(), a_user()
        with uow:
            uow.users.add(first)
            uow.commit()
        with uow:
            uow.users.add(second)
        with uow:
            assert uow.users.user_exists(first.id)
            assert not uow.users.user_exists(second.id)
