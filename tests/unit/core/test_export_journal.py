from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.ledger.use_cases.export_journal import (
    MAX_PERIOD,
    CurrencyTotals,
    ExportJournalQuery,
    ExportTotals,
    JournalExport,
)
from core.ledger.use_cases.take_balance_snapshots import TakeBalanceSnapshotsCommand
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.errors import InvalidInput
from core.shared.ids import correlation_id
from tests.unit.core.world import SYSTEM, World, eur, key

START = datetime(2026, 1, 1, tzinfo=UTC)


def _export(world: World, by: Actor, from_at: datetime, to_at: datetime, page_size: int = 500) -> JournalExport:
    export: JournalExport = world.uc.export_journal()(
        ExportJournalQuery(by=by, from_at=from_at, to_at=to_at, page_size=page_size)
    )
    return export


def test_an_export_streams_every_entry_of_the_period_in_order_with_balanced_totals(world: World) -> None:
    alice, bob, fin = world.user("alice"), world.user("bob"), world.user("fin", Persona.FINANCE)
    wa, wb = world.wallet(alice), world.wallet(bob)
    for n in range(1, 24):
        world.deposit(alice, wa.wallet_id, eur(100 * n))
        world.transfer(alice, wa.wallet_id, wb.wallet_id, eur(n))
    export = _export(world, fin, START, START + timedelta(days=1), page_size=5)  # many pages
    entries = list(export.entries())
    totals = export.totals()
    assert len(entries) == totals.entries == 46
    assert totals.postings == sum(len(e.postings) for e in entries) == 92
    keys = [(e.occurred_at, e.id) for e in entries]
    assert keys == sorted(keys) and len(set(keys)) == 46
    [eur_totals] = totals.currencies
    deposited = sum(100 * n for n in range(1, 24))
    moved = sum(range(1, 24))
    assert (eur_totals.currency, eur_totals.debits_minor, eur_totals.credits_minor) == (
        "EUR",
        deposited + moved,
        deposited + moved,
    )
    assert totals.balanced and eur_totals.balanced


def test_the_period_is_half_open(world: World) -> None:
    alice, admin = world.user("alice"), world.user("root", Persona.ADMIN)
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(5))
    first = world.clock.now()
    world.deposit(alice, wa.wallet_id, eur(7))
    second = world.clock.now()
    export = _export(world, admin, first, second)
    [only] = list(export.entries())
    assert sorted(p.amount.minor for p in only.postings) == [-5, 5]
    empty = _export(world, SYSTEM, second + timedelta(microseconds=1), second + timedelta(days=1))
    assert list(empty.entries()) == [] and empty.totals().currencies == () and empty.totals().balanced


def test_totals_are_known_only_after_streaming_and_the_stream_runs_once(world: World) -> None:
    export = _export(world, SYSTEM, START, START + timedelta(days=1))
    with pytest.raises(RuntimeError):
        export.totals()
    assert list(export.entries()) == []
    with pytest.raises(RuntimeError):
        list(export.entries())


def test_a_client_or_support_may_not_export(world: World) -> None:
    for actor in (world.user("alice"), world.user("helper", Persona.SUPPORT)):
        with pytest.raises(Forbidden):
            _export(world, actor, START, START + timedelta(days=1))


@pytest.mark.parametrize(
    ("from_at", "to_at", "page_size", "field"),
    [
        (START, START, 500, "to_at"),
        (START, START - timedelta(days=1), 500, "to_at"),
        (START, START + MAX_PERIOD + timedelta(microseconds=1), 500, "to_at"),
        (START.replace(tzinfo=None), START + timedelta(days=1), 500, "from_at"),
        (START, (START + timedelta(days=1)).astimezone(timezone(timedelta(hours=2))), 500, "to_at"),
        (START, START + timedelta(days=1), 0, "page_size"),
        (START, START + timedelta(days=1), 5001, "page_size"),
    ],
)
def test_bad_periods_and_page_sizes_are_refused(
    world: World, from_at: datetime, to_at: datetime, page_size: int, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        _export(world, SYSTEM, from_at, to_at, page_size)
    assert raised.value.field == field


def test_a_full_year_is_allowed(world: World) -> None:
    export = _export(world, SYSTEM, START, START + MAX_PERIOD)
    assert list(export.entries()) == [] and export.totals().entries == 0


def test_the_closing_snapshot_is_the_latest_taken_by_the_end_of_the_period(world: World) -> None:
    alice, fin = world.user("alice"), world.user("fin", Persona.FINANCE)
    wa = world.wallet(alice)
    world.deposit(alice, wa.wallet_id, eur(900))
    before_any = world.clock.now()
    take = world.uc.take_balance_snapshots()
    take(TakeBalanceSnapshotsCommand(by=fin, idempotency_key=key(), correlation_id=correlation_id(None)))
    world.deposit(alice, wa.wallet_id, eur(100))
    last = take(TakeBalanceSnapshotsCommand(by=fin, idempotency_key=key(), correlation_id=correlation_id(None)))
    world.deposit(alice, wa.wallet_id, eur(1))
    take_later = world.clock.now() + timedelta(days=2)

    assert _export(world, fin, START, before_any).closing_snapshot() is None
    closing = _export(world, fin, START, last.taken_at + timedelta(days=1)).closing_snapshot()
    assert closing is not None and (closing.snapshot_id, closing.taken_at) == (last.snapshot_id, last.taken_at)
    balances = {line.account_id: line.balance for line in closing.lines}
    assert balances[wa.wallet_id] == eur(1000) and sum(b.minor for b in balances.values()) == 0
    assert _export(world, fin, START, take_later).closing_snapshot() == closing


def test_totals_that_differ_in_one_currency_do_not_balance() -> None:
    even = CurrencyTotals(currency="EUR", debits_minor=5, credits_minor=5)
    odd = CurrencyTotals(currency="JPY", debits_minor=5, credits_minor=4)
    assert ExportTotals(entries=2, postings=4, currencies=(even,)).balanced
    assert not ExportTotals(entries=2, postings=4, currencies=(even, odd)).balanced
    assert not odd.balanced
