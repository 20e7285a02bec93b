from __future__ import annotations

from datetime import datetime, timedelta

from core.escrow.domain import Payout
from core.payments.domain import OurPayout
from core.shared.money import Money

from ..builders import EUR, T0
from ..harness import MakeUow
from .payouts import a_stored_payout


def _executed(make_uow: MakeUow, gateway: str, *, paid_at: datetime | None, reference: str | None = None) -> Payout:
    """A stored payout, approved and sent through ``gateway``; paid at ``paid_at`` with
    ``reference``, declined (``reference`` None) or left executing (``paid_at`` None)."""
    payout = a_stored_payout(make_uow)
    with make_uow() as uow:
        stored: Payout = uow.payouts.lock(payout.id)
        stored.approve("usr_checker_1")
        stored.approve("usr_checker_2")
        stored.start_execution(gateway=gateway)
        if paid_at is not None and reference is not None:
            stored.paid(reference=reference, at=paid_at)
        elif paid_at is not None:
            stored.failed(reason="account closed", at=paid_at)
        uow.payouts.save(stored)
        uow.commit()
    return stored


class PayoutsMadeContract:
    """Behaviour every ``PayoutsMade`` adapter has (escrow's payouts, as payments'
    reconciliation reads them). Subclasses supply ``make_uow``."""

    def test_the_payouts_paid_through_the_provider_in_the_period_are_listed_by_id(self, make_uow: MakeUow) -> None:
        start, end = T0, T0 + timedelta(days=1)
        first = _executed(make_uow, "stripe", paid_at=start, reference="tr_first")
        last = _executed(make_uow, "stripe", paid_at=end - timedelta(microseconds=1), reference="tr_last")
        with make_uow() as uow:
            listed = uow.payouts_made.paid_through("stripe", start, end)
        expected = sorted(
            [
                OurPayout(payout_id=first.id, reference="tr_first", amount=Money(150_000, EUR), paid_at=start),
                OurPayout(
                    payout_id=last.id,
                    reference="tr_last",
                    amount=Money(150_000, EUR),
                    paid_at=end - timedelta(microseconds=1),
                ),
            ],
            key=lambda p: p.payout_id,
        )
        assert listed == expected

    def test_payouts_outside_the_period_through_another_provider_or_not_paid_are_not_listed(
        self, make_uow: MakeUow
    ) -> None:
        start, end = T0, T0 + timedelta(days=1)
        _executed(make_uow, "stripe", paid_at=start - timedelta(microseconds=1), reference="tr_before")
        _executed(make_uow, "stripe", paid_at=end, reference="tr_at_the_end")
        _executed(make_uow, "paypal", paid_at=start + timedelta(hours=1), reference="BATCH1")
        _executed(make_uow, "stripe", paid_at=start + timedelta(hours=1))  # declined
        _executed(make_uow, "stripe", paid_at=None)  # outcome unknown: executing, no reference
        a_stored_payout(make_uow)  # requested only
        with make_uow() as uow:
            assert uow.payouts_made.paid_through("stripe", start, end) == []
            assert [p.reference for p in uow.payouts_made.paid_through("paypal", start, end)] == ["BATCH1"]
            assert uow.payouts_made.paid_through("adyen", start, end) == []
