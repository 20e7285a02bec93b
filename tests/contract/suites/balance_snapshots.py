from __future__ import annotations

from datetime import timedelta

from core.ledger.ports import SnapshotLine, StoredSnapshot
from core.shared.ids import SnapshotId, new_id
from core.shared.money import Money

from ..builders import EUR, JPY, T0, a_wallet
from ..harness import MakeUow, Probe


class BalanceSnapshotsContract:
    """Behaviour every ``BalanceSnapshots`` adapter has. Subclasses supply ``make_uow``
    and ``probe`` (the port is write-only)."""

    def test_snapshot_lines_are_stored_with_their_time(self, make_uow: MakeUow, probe: Probe) -> None:
        eur, jpy = a_wallet(), a_wallet(currency=JPY)
        snapshot_id = SnapshotId(new_id("snap"))
        with make_uow() as uow:
            uow.accounts.add(eur)
            uow.accounts.add(jpy)
            uow.snapshots.add(
                snapshot_id,
                T0,
                (SnapshotLine(account_id=a.id, balance=b) for a, b in ((eur, Money(-5, EUR)), (jpy, Money(7, JPY)))),
            )
            uow.commit()
        stored = probe.snapshot(snapshot_id)
        assert stored == {eur.id: (T0, Money(-5, EUR)), jpy.id: (T0, Money(7, JPY))}
        assert {at.isoformat() for at, _ in stored.values()} == {T0.isoformat()}

    def test_snapshots_are_kept_apart(self, make_uow: MakeUow, probe: Probe) -> None:
        wallet = a_wallet()
        first, second = SnapshotId(new_id("snap")), SnapshotId(new_id("snap"))
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.snapshots.add(first, T0, [SnapshotLine(account_id=wallet.id, balance=Money(1, EUR))])
            uow.snapshots.add(second, T0, [SnapshotLine(account_id=wallet.id, balance=Money(2, EUR))])
            uow.commit()
        assert probe.snapshot(first) == {wallet.id: (T0, Money(1, EUR))}
        assert probe.snapshot(second) == {wallet.id: (T0, Money(2, EUR))}

    def test_an_empty_snapshot_stores_no_line(self, make_uow: MakeUow, probe: Probe) -> None:
        snapshot_id = SnapshotId(new_id("snap"))
        with make_uow() as uow:
            uow.snapshots.add(snapshot_id, T0, [])
            uow.commit()
        assert probe.snapshot(snapshot_id) == {}

    def test_a_rolled_back_snapshot_leaves_nothing(self, make_uow: MakeUow, probe: Probe) -> None:
        wallet = a_wallet()
        with make_uow() as uow:
            uow.accounts.add(wallet)
            uow.commit()
        snapshot_id = SnapshotId(new_id("snap"))
        with make_uow() as uow:
            uow.snapshots.add(snapshot_id, T0, [SnapshotLine(account_id=wallet.id, balance=Money(1, EUR))])
        assert probe.snapshot(snapshot_id) == {}

    def test_the_latest_snapshot_at_or_before_an_instant(self, make_uow: MakeUow) -> None:
        eur, jpy = a_wallet(), a_wallet(currency=JPY)
        early, on_time, late = (SnapshotId(new_id("snap")) for _ in range(3))
        with make_uow() as uow:
            uow.accounts.add(eur)
            uow.accounts.add(jpy)
            uow.snapshots.add(early, T0, [SnapshotLine(account_id=eur.id, balance=Money(1, EUR))])
            both = [
                SnapshotLine(account_id=eur.id, balance=Money(2, EUR)),
                SnapshotLine(account_id=jpy.id, balance=Money(3, JPY)),
            ]
            uow.snapshots.add(on_time, T0 + timedelta(days=1), both)
            uow.snapshots.add(late, T0 + timedelta(days=2), [SnapshotLine(account_id=eur.id, balance=Money(4, EUR))])
            uow.commit()
        with make_uow() as uow:
            assert uow.snapshots.latest_at_or_before(T0 - timedelta(microseconds=1)) is None
            assert uow.snapshots.latest_at_or_before(T0 + timedelta(hours=1)).snapshot_id == early
            found = uow.snapshots.latest_at_or_before(T0 + timedelta(days=1))
            assert uow.snapshots.latest_at_or_before(T0 + timedelta(days=9)).snapshot_id == late
        assert found == StoredSnapshot(
            snapshot_id=on_time,
            taken_at=T0 + timedelta(days=1),
            lines=tuple(sorted(both, key=lambda line: line.account_id)),
        )
        assert found.taken_at.isoformat() == (T0 + timedelta(days=1)).isoformat()
