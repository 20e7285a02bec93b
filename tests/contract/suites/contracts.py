from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from core.escrow.domain import Contract, ContractId, ContractNotFound, FeeSchedule, Milestone
from core.escrow.ports import PLATFORM, AccountKinds
from core.shared.errors import ConcurrentUpdate
from core.shared.money import Money

from ..builders import EUR, T0, a_contract
from ..harness import MakeUow, WaitUntilBlocked
from ..threads import in_background

FEE = FeeSchedule(bps=1_000, min_minor=50)


def snapshot(contract: Contract) -> dict[str, Any]:
    """Every field of the contract and its milestones, as plain values."""
    return attrs.asdict(contract, recurse=True)


def add(make_uow: MakeUow, contract: Contract) -> Contract:
    with make_uow() as uow:
        uow.contracts.add(contract)
        uow.commit()
    return contract


def fund(uow: Any, milestone: Milestone) -> None:
    """Fund through the domain, into a real escrow account (the SQL schema refers to it)."""
    escrow = uow.book.account(owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=EUR, label=milestone.id, at=T0)
    milestone.fund(escrow_account_id=escrow, at=T0)


class ContractsContract:
    """Behaviour every ``Contracts`` adapter has. Subclasses supply ``make_uow``."""

    def test_an_added_contract_reads_back_equal_with_and_without_a_lock(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract(10_000, 250, 99_999_999))
        with make_uow() as uow:
            read, locked = uow.contracts.get(contract.id), uow.contracts.lock(contract.id)
        assert snapshot(read) == snapshot(locked) == snapshot(contract)
        assert [m.position for m in read.milestones] == [1, 2, 3]
        assert read.created_at.isoformat() == T0.isoformat()

    def test_every_field_a_move_changes_is_saved(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract(10_000, 20_000, 30_000, 40_000))
        with make_uow() as uow:
            stored = uow.contracts.lock(contract.id)
            stored.accept(at=T0 + timedelta(hours=1))
            first, second, third, _ = stored.milestones
            for milestone in (first, second, third):
                fund(uow, milestone)
            first.submit(at=T0 + timedelta(days=1))
            first.approve(Money(4_000, EUR), FEE, at=T0 + timedelta(days=2))
            second.propose_refund(Money(5_000, EUR), at=T0 + timedelta(days=2))
            third.submit(at=T0 + timedelta(days=3))
            third.request_changes(at=T0 + timedelta(days=4))
            third.open_dispute_hold(by=stored.client_id, at=T0 + timedelta(days=5))
            uow.contracts.save(stored)
            assert stored.version == 1
            uow.commit()
        with make_uow() as uow:
            assert snapshot(uow.contracts.get(contract.id)) == snapshot(stored)

    def test_a_settled_milestone_keeps_its_closing_time_and_amounts(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract(10_000))
        with make_uow() as uow:
            stored = uow.contracts.lock(contract.id)
            (milestone,) = stored.milestones
            fund(uow, milestone)
            milestone.open_dispute_hold(by=stored.provider_id, at=T0)
            milestone.resolve_dispute_hold(
                release=Money(6_000, EUR), refund=Money(4_000, EUR), fee=FEE, at=T0 + timedelta(days=1)
            )
            uow.contracts.save(stored)
            uow.commit()
        with make_uow() as uow:
            (read,) = uow.contracts.get(contract.id).milestones
        assert (read.status.value, read.held.minor, read.released.minor, read.refunded.minor, read.fees.minor) == (
            "settled",
            0,
            6_000,
            4_000,
            600,
        )
        assert read.closed_at == T0 + timedelta(days=1)

    @pytest.mark.parametrize("read", ["get", "lock"])
    def test_an_unknown_contract_raises_contract_not_found(self, make_uow: MakeUow, read: str) -> None:
        with make_uow() as uow, pytest.raises(ContractNotFound):
            getattr(uow.contracts, read)(ContractId("ctr_missing"))

    def test_adding_an_existing_id_is_refused(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract())
        with make_uow() as uow, pytest.raises(ValueError, match="exists already"):
            uow.contracts.add(attrs.evolve(contract))

    def test_leaving_without_commit_discards_an_added_contract(self, make_uow: MakeUow) -> None:
        contract = a_contract()
        with make_uow() as uow:
            uow.contracts.add(contract)
            assert uow.contracts.get(contract.id).id == contract.id  # visible inside
        with make_uow() as uow, pytest.raises(ContractNotFound):
            uow.contracts.get(contract.id)

    def test_leaving_without_commit_discards_a_save(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract(10_000, 20_000))
        with make_uow() as uow:
            stored = uow.contracts.lock(contract.id)
            stored.accept(at=T0)
            fund(uow, stored.milestones[1])
            uow.contracts.save(stored)
        with make_uow() as uow:
            assert snapshot(uow.contracts.get(contract.id)) == snapshot(contract)

    def test_a_save_over_a_stale_version_is_a_concurrent_update(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract(10_000))
        with make_uow() as uow:
            stale = uow.contracts.get(contract.id)
        with make_uow() as uow:
            fresh = uow.contracts.lock(contract.id)
            fresh.accept(at=T0)
            uow.contracts.save(fresh)
            uow.commit()
        stale.cancel(at=T0)
        with make_uow() as uow, pytest.raises(ConcurrentUpdate):
            uow.contracts.save(stale)
        with make_uow() as uow:
            assert uow.contracts.get(contract.id).status.value == "active"

    def test_saving_twice_in_one_transaction_bumps_the_version_each_time(self, make_uow: MakeUow) -> None:
        contract = add(make_uow, a_contract(10_000))
        with make_uow() as uow:
            stored = uow.contracts.lock(contract.id)
            stored.accept(at=T0)
            uow.contracts.save(stored)
            fund(uow, stored.milestones[0])
            uow.contracts.save(stored)
            uow.commit()
        with make_uow() as uow:
            read = uow.contracts.get(contract.id)
        assert read.version == 2
        assert read.milestones[0].held == Money(10_000, EUR)

    @pytest.mark.parametrize("first_commits", [True, False], ids=["holder-commits", "holder-rolls-back"])
    def test_a_lock_waits_for_its_holder_then_reads_what_it_left(
        self, make_uow: MakeUow, wait_until_blocked: WaitUntilBlocked, first_commits: bool
    ) -> None:
        """Two requests for changes on one milestone at once: neither is lost, and the
        second one reads the milestone as the first left it (not as it was before)."""
        contract = add(make_uow, a_contract(10_000))
        with make_uow() as uow:
            stored = uow.contracts.lock(contract.id)
            stored.accept(at=T0)
            fund(uow, stored.milestones[0])
            stored.milestones[0].submit(at=T0)
            uow.contracts.save(stored)
            uow.commit()

        def ask_for_changes() -> int:
            with make_uow() as uow:
                locked = uow.contracts.lock(contract.id)
                (milestone,) = locked.milestones
                milestone.request_changes(at=T0)
                milestone.submit(at=T0)
                uow.contracts.save(locked)
                uow.commit()
                return milestone.changes_requested

        with make_uow() as uow:
            locked = uow.contracts.lock(contract.id)
            join = in_background(ask_for_changes)  # waits: for the row, the write lock or the store
            wait_until_blocked(uow)
            locked.milestones[0].request_changes(at=T0)
            locked.milestones[0].submit(at=T0)
            uow.contracts.save(locked)
            if first_commits:
                uow.commit()
        assert join() == (2 if first_commits else 1)
        with make_uow() as uow:
            read = uow.contracts.get(contract.id)
        assert (read.milestones[0].changes_requested, read.milestones[0].submissions) == (
            (2, 3) if first_commits else (1, 2)
        )
        assert read.version == (3 if first_commits else 2)
