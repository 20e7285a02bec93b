from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.escrow.domain import Payout, PayoutId, PayoutStatus
from core.payments.domain import (
    MatchKind,
    OurSide,
    PaymentId,
    PayoutRequest,
    ProviderEventKind,
    ProviderStatus,
    SettlementKind,
    SettlementLine,
    reconcile,
)
from core.payments.use_cases.reconcile_provider import ReconcileProviderCommand, ReconciliationReport
from core.shared.actor import Actor, Persona
from core.shared.authorization import Forbidden
from core.shared.ids import AccountId, correlation_id
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


# ---- payouts ---------------------------------------------------------------------------


def _payout_line(ref: str, minor: int, payout_id: str | None = None) -> SettlementLine:
    return SettlementLine(
        provider_reference=ref,
        kind=SettlementKind.PAYOUT,
        gross=eur(minor),
        fee=eur(0),
        net=eur(minor),
        booked_at=T0,
        payout_id=payout_id,
    )


def _our_payout(ref: str, minor: int) -> OurSide:
    return OurSide(provider_reference=ref, kind=SettlementKind.PAYOUT, amount=eur(minor), payout_id=f"pout_{ref}")


def test_payouts_are_matched_by_reference_and_amount_like_charges() -> None:
    items = reconcile(
        [_our_payout("tr_a", 100), _our_payout("tr_b", 200), _our_payout("tr_c", 300), _ours("tr_a", 100)],
        [_payout_line("tr_a", 100), _payout_line("tr_b", 201), _payout_line("tr_d", 400), _line("tr_a", 100)],
    )
    assert [(i.provider_reference, i.settlement_kind, i.kind, i.payout_id) for i in items] == [
        ("tr_a", SettlementKind.CHARGE, MatchKind.MATCHED, None),  # same reference, another kind: apart
        ("tr_a", SettlementKind.PAYOUT, MatchKind.MATCHED, "pout_tr_a"),
        ("tr_b", SettlementKind.PAYOUT, MatchKind.AMOUNT_MISMATCH, "pout_tr_b"),
        ("tr_c", SettlementKind.PAYOUT, MatchKind.MISSING_THEIRS, "pout_tr_c"),
        ("tr_d", SettlementKind.PAYOUT, MatchKind.MISSING_OURS, None),
    ]


def test_a_payout_line_naming_only_our_payout_id_is_matched_to_that_payout() -> None:
    # PayPal's report has the item's transaction id, never the batch id the payout answered.
    ours = _our_payout("BATCH1", 500)
    [matched] = reconcile([ours], [_payout_line("TXN9", 500, payout_id="pout_BATCH1")])
    assert (matched.kind, matched.provider_reference, matched.payout_id) == (
        MatchKind.MATCHED,
        "BATCH1",
        "pout_BATCH1",
    )
    stranger = reconcile([], [_payout_line("TXN8", 500, payout_id="pout_unknown")])
    assert [(i.kind, i.provider_reference, i.payout_id) for i in stranger] == [
        (MatchKind.MISSING_OURS, "TXN8", "pout_unknown")
    ]


def test_withdrawals_to_the_platforms_own_bank_are_not_matched() -> None:
    withdrawal = SettlementLine(
        provider_reference="po_1",
        kind=SettlementKind.WITHDRAWAL,
        gross=eur(9_000),
        fee=eur(0),
        net=eur(9_000),
        booked_at=T0,
    )
    assert reconcile([], [withdrawal]) == []


def _books_payout(world: PaymentsWorld, payout_id: str, minor: int, reference: str, *, gateway: str = "stripe") -> None:
    """Escrow's record of a payout paid through ``gateway`` now (as ExecutePayout leaves it)."""
    with world.uow() as uow:
        uow.payouts.add(
            Payout(
                id=PayoutId(payout_id),
                payee_id="usr_payee",
                requested_by="usr_payee",
                amount=eur(minor),
                status=PayoutStatus.PAID,
                required_approvals=2,
                approvals=("usr_a", "usr_b"),
                wallet_account_id=AccountId("acc_wallet"),
                transit_account_id=AccountId("acc_transit"),
                requested_at=world.clock.now() - timedelta(days=3),
                attempts=1,
                gateway=gateway,
                reference=reference,
                settled_at=world.clock.now(),
            )
        )
        uow.commit()


def _pays_out(world: PaymentsWorld, payout_id: str, minor: int, provider: str = "stripe") -> str:
    request = PayoutRequest(payout_id=payout_id, destination="acct_1", amount=eur(minor), idempotency_key=payout_id)
    return world.gateways[provider].payout(request).reference


def test_a_payout_made_in_the_period_is_matched_and_one_only_we_or_only_they_know_is_reported() -> None:
    world, alice = PaymentsWorld(), client()
    start = world.clock.now()
    world.top_up(alice, 1_000)
    _books_payout(world, "pout_both", 5_000, _pays_out(world, "pout_both", 5_000))
    world.clock.advance(timedelta(minutes=5))
    _books_payout(world, "pout_ours_only", 6_000, "stripe_po_never_sent")
    _pays_out(world, "pout_theirs_only", 7_000)
    _books_payout(world, "pout_short", 8_000, _pays_out(world, "pout_short", 7_999))
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(hours=1))
    assert report.matched == 2  # the top-up and pout_both
    assert [(i.kind, i.settlement_kind, i.payout_id, i.ours, i.theirs) for i in report.discrepancies] == [
        (MatchKind.MISSING_THEIRS, SettlementKind.PAYOUT, "pout_ours_only", eur(6_000), None),
        (MatchKind.AMOUNT_MISMATCH, SettlementKind.PAYOUT, "pout_short", eur(8_000), eur(7_999)),
        (MatchKind.MISSING_OURS, SettlementKind.PAYOUT, "pout_theirs_only", None, eur(7_000)),
    ]
    [alert] = world.events_named("payments.alert_raised")
    assert any("pout_ours_only" in line for line in alert.details)  # type: ignore[attr-defined]


def test_payouts_through_another_provider_or_outside_the_period_are_not_matched() -> None:
    world = PaymentsWorld()
    start = world.clock.now()
    _books_payout(world, "pout_adyen", 5_000, _pays_out(world, "pout_adyen", 5_000, "adyen"), gateway="adyen")
    world.clock.advance(timedelta(hours=2))
    _books_payout(world, "pout_later", 5_000, _pays_out(world, "pout_later", 5_000))
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(hours=1))
    assert report.items == ()


def test_a_provider_whose_report_does_not_list_payouts_leaves_them_out() -> None:
    # Adyen's settlement details hold no balance-platform transfers: matching would call
    # every payout missing theirs.
    world = PaymentsWorld()
    start = world.clock.now()
    world.gateways["stripe"].reports_payouts = False
    _books_payout(world, "pout_elsewhere", 5_000, "stripe_po_pout_elsewhere")
    report = _reconcile(world, operator(Persona.FINANCE), start, start + timedelta(hours=1))
    assert report.items == ()
