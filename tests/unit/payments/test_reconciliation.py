from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.payments.domain import (
    MatchKind,
    OurSide,
    PaymentId,
    ProviderEventKind,
    ProviderStatus,
    SettlementKind,
    SettlementLine,
    reconcile,
)
from core.payments.use_cases.reconcile_provider import ReconcileProviderCommand, ReconciliationReport
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.ids import correlation_id
from tests.unit.payments.world import PaymentsWorld, client, eur, key, operator, provider_event

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _line(ref: str, minor: int, kind: SettlementKind = SettlementKind.CHARGE) -> SettlementLine:
    return SettlementLine(provider_reference=ref, kind=kind, gross=eur(minor), fee=eur(0), net=eur(minor), booked_at=T0)


def _ours(ref: str, minor: int, kind: SettlementKind = SettlementKind.CHARGE) -> OurSide:
    return OurSide(provider_reference=ref, kind=kind, amount=eur(minor), payment_id=PaymentId(f"pay_{ref}"))


def test_matching_sorts_every_line_into_exactly_one_outcome() -> None:
    items = reconcile(
        [_ours("a", 100), _ours("b", 200), _ours("c", 300), _ours("r", 50, SettlementKind.REFUND)],
        [
            _line("a", 100),
            _line("b", 250),
            _line("d", 400),
            _line("r", 50, SettlementKind.REFUND),
            _line("x", 9, SettlementKind.FEE),
        ],
    )
    assert [(i.provider_reference, i.kind) for i in items] == [
        ("a", MatchKind.MATCHED),
        ("b", MatchKind.AMOUNT_MISMATCH),
        ("c", MatchKind.MISSING_THEIRS),
        ("d", MatchKind.MISSING_OURS),
        ("r", MatchKind.MATCHED),
    ]


def test_split_settlement_lines_of_one_reference_add_up() -> None:
    [item] = reconcile([_ours("a", 100)], [_line("a", 60), _line("a", 40)])
    assert item.kind is MatchKind.MATCHED


def _reconcile(world: PaymentsWorld, by: Actor, start: datetime, end: datetime) -> ReconciliationReport:
    return world.reconcile(
        ReconcileProviderCommand(
            by=by, idempotency_key=key(), correlation_id=correlation_id(None), provider="stripe", start=start, end=end
        )
    )


def test_a_period_with_one_planted_discrepancy_reports_exactly_that_one() -> None:
    world, alice = PaymentsWorld(), client()
    start = world.clock.now()
    views = []
    for minor in (1_000, 2_000, 3_000, 4_000):
        views.append(world.top_up(alice, minor))
        world.clock.advance(timedelta(minutes=5))
    world.refund(views[0].payment_id, 400)
    planted = world.gateways["stripe"].charges[views[2].provider_reference or ""]
    planted.amount = eur(2_999)  # the provider settled one cent less
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(days=1))
    assert report.matched == 4  # three charges and the refund
    assert [(i.kind, i.provider_reference, i.ours, i.theirs) for i in report.discrepancies] == [
        (MatchKind.AMOUNT_MISMATCH, views[2].provider_reference, eur(3_000), eur(2_999))
    ]
    [alert] = world.events_named("payments.alert_raised")
    assert views[2].provider_reference in alert.details[0]  # type: ignore[attr-defined]


def test_a_clean_period_raises_no_alert() -> None:
    world, alice = PaymentsWorld(), client()
    start = world.clock.now()
    world.top_up(alice, 1_000)
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(hours=1))
    assert report.discrepancies == ()
    assert world.events_named("payments.alert_raised") == []


def test_a_charge_the_provider_does_not_report_is_missing_theirs() -> None:
    world, alice = PaymentsWorld(), client()
    start = world.clock.now()
    view = world.top_up(alice, 1_000)
    del world.gateways["stripe"].charges[view.provider_reference or ""]
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(hours=1))
    assert [i.kind for i in report.discrepancies] == [MatchKind.MISSING_THEIRS]


def test_only_finance_reconciles() -> None:
    world = PaymentsWorld()
    with pytest.raises(Forbidden):
        _reconcile(world, operator(Persona.SUPPORT), T0, T0 + timedelta(days=1))


def test_a_short_capture_reconciles_against_what_the_ledger_credited() -> None:
    # The provider took 900 of a 1,000 intent; the ledger credited 900 (and alerted): the
    # provider's settlement of 900 matches our books, it is no amount mismatch.
    world, alice = PaymentsWorld(), client()
    start = world.clock.now()
    world.gateways["stripe"].next_status = ProviderStatus.PROCESSING
    view = world.top_up(alice, 1_000)
    reference = view.provider_reference or ""
    world.deliver(
        provider_event(
            "stripe", "evt_short", ProviderEventKind.PAYMENT_CAPTURED, reference, at=world.clock.now(), amount=eur(900)
        )
    )
    settled = world.gateways["stripe"].charges[reference]
    settled.amount, settled.status = eur(900), ProviderStatus.CAPTURED
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(hours=1))
    assert report.discrepancies == ()
    assert report.matched == 1
