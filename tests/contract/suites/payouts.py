from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from core.escrow.domain import Payout, PayoutId, PayoutNotFound
from core.escrow.ports import AccountKinds
from core.shared.errors import ConcurrentUpdate
from core.shared.ids import new_id

from ..builders import EUR, T0, a_payout
from ..harness import MakeUow, WaitUntilBlocked
from ..threads import in_background


def a_stored_payout(make_uow: MakeUow) -> Payout:
    """A requested payout over real accounts (the SQL schema refers to them)."""
    payee = new_id("usr")
    with make_uow() as uow:
        wallet = uow.book.account(owner_id=payee, kind=AccountKinds.WALLET, currency=EUR, at=T0)
        transit = uow.book.account(owner_id=payee, kind=AccountKinds.PAYOUT_IN_TRANSIT, currency=EUR, at=T0)
        payout = a_payout(payee, wallet, transit)
        uow.payouts.add(payout)
        uow.commit()
    return payout


def snapshot(payout: Payout) -> dict[str, Any]:
    return attrs.asdict(payout, recurse=True)


class PayoutsContract:
    """Behaviour every ``Payouts`` adapter has. Subclasses supply ``make_uow``."""

    def test_an_added_payout_reads_back_equal_with_and_without_a_lock(self, make_uow: MakeUow) -> None:
        payout = a_stored_payout(make_uow)
        with make_uow() as uow:
            read, locked = uow.payouts.get(payout.id), uow.payouts.lock(payout.id)
        assert snapshot(read) == snapshot(locked) == snapshot(payout)

    def test_approvals_keep_their_order_and_every_settled_field_is_saved(self, make_uow: MakeUow) -> None:
        payout = a_stored_payout(make_uow)
        with make_uow() as uow:
            stored = uow.payouts.lock(payout.id)
            assert not stored.approve("usr_zed")
            uow.payouts.save(stored)
            assert stored.approve("usr_abe")
            stored.start_execution(gateway="sandbox")
            stored.paid(reference="sbx_00000001", at=T0 + timedelta(minutes=3))
            uow.payouts.save(stored)
            uow.commit()
        with make_uow() as uow:
            read = uow.payouts.get(payout.id)
        assert read.approvals == ("usr_zed", "usr_abe")
        assert read.version == 2
        assert snapshot(read) == snapshot(stored)

    def test_a_failed_payout_keeps_its_reason(self, make_uow: MakeUow) -> None:
        payout = a_stored_payout(make_uow)
        with make_uow() as uow:
            stored = uow.payouts.lock(payout.id)
            stored.approve("usr_a")
            stored.approve("usr_b")
            stored.start_execution(gateway="sandbox")
            stored.failed(reason="account closed", at=T0)
            uow.payouts.save(stored)
            uow.commit()
        with make_uow() as uow:
            read = uow.payouts.get(payout.id)
        assert (read.status.value, read.failure_reason, read.reference, read.attempts) == (
            "failed",
            "account closed",
            None,
            1,
        )

    @pytest.mark.parametrize("read", ["get", "lock"])
    def test_an_unknown_payout_raises_payout_not_found(self, make_uow: MakeUow, read: str) -> None:
        with make_uow() as uow, pytest.raises(PayoutNotFound):
            getattr(uow.payouts, read)(PayoutId("pay_missing"))

    def test_leaving_without_commit_discards_the_save(self, make_uow: MakeUow) -> None:
        payout = a_stored_payout(make_uow)
        with make_uow() as uow:
            stored = uow.payouts.lock(payout.id)
            stored.approve("usr_a")
            uow.payouts.save(stored)
        with make_uow() as uow:
            assert snapshot(uow.payouts.get(payout.id)) == snapshot(payout)

    def test_a_save_over_a_stale_version_is_a_concurrent_update(self, make_uow: MakeUow) -> None:
        payout = a_stored_payout(make_uow)
        with make_uow() as uow:
            stale = uow.payouts.get(payout.id)
        with make_uow() as uow:
            fresh = uow.payouts.lock(payout.id)
            fresh.approve("usr_a")
            uow.payouts.save(fresh)
            uow.commit()
        stale.approve("usr_b")
        with make_uow() as uow, pytest.raises(ConcurrentUpdate):
            uow.payouts.save(stale)
        with make_uow() as uow:
            assert uow.payouts.get(payout.id).approvals == ("usr_a",)

    def test_two_approvals_at_once_are_both_counted(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked
    ) -> None:
        payout = a_stored_payout(make_uow)

        def approve_as(approver: str) -> bool:
            with make_uow() as uow:
                locked = uow.payouts.lock(payout.id)
                done = locked.approve(approver)
                uow.payouts.save(locked)
                uow.commit()
                return done

        with make_uow() as uow:
            locked = uow.payouts.lock(payout.id)
            join = in_background(lambda: approve_as("usr_second"))  # waits for the lock
            wait_until_blocked(uow)
            assert not locked.approve("usr_first")
            uow.payouts.save(locked)
            uow.commit()
        assert join() is True  # it read the first approval, so its own completed the two
        with make_uow() as uow:
            read = uow.payouts.get(payout.id)
        assert (read.approvals, read.status.value) == (("usr_first", "usr_second"), "approved")
