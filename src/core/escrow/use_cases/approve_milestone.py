from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    Actions,
    ContractId,
    EscrowPolicy,
    MilestoneAction,
    MilestoneId,
    MilestoneMoved,
    MilestoneReleased,
)
from core.escrow.ports import EntryKinds, EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.escrow.use_cases.movements import move_out
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class ApproveMilestoneCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId
    amount: Money | None = None  # default: everything held


class ApproveMilestone:
    """The client approves submitted work and releases ``amount`` (default: all held).

    One entry: escrow -> provider's pending earnings (gross less the contract's fee) and
    the platform's fee revenue (the fee); a clearing timer moves the net to the
    provider's wallet after the clearing period. An emptied milestone is RELEASED; one
    still holding money goes back to FUNDED (work continues on the rest). Raises
    Forbidden, ContractNotFound, MilestoneNotFound, IllegalTransition, InvalidInput,
    CurrencyMismatch, AmountExceedsHeld. Emits MilestoneReleased."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: ApproveMilestoneCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.CLIENT, Actions.APPROVE)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.APPROVE)
            now = self._clock.now()
            held_before = milestone.held
            split = milestone.approve(command.amount, contract.fee, at=now)
            out = move_out(
                uow,
                contract,
                milestone,
                kind=EntryKinds.ESCROW_RELEASE,
                split=split,
                refund=None,
                initiated_by=command.by.ref,
                at=now,
                clearing_period=self._policy.clearing_period,
            )
            uow.contracts.save(contract)
            assert out.release_id is not None and out.clears_at is not None  # a release is always positive
            return Change(
                result=MilestoneMoved(
                    contract_id=contract.id,
                    milestone_id=milestone.id,
                    status=milestone.status,
                    held=milestone.held,
                    entry_id=out.entry_id,
                    release_id=out.release_id,
                    gross=split.gross,
                    fee=split.fee,
                    net=split.net,
                ),
                target=f"milestone:{milestone.id}",
                before={"status": "submitted", "held_minor": held_before.minor},
                after={
                    "status": milestone.status.value,
                    "held_minor": milestone.held.minor,
                    "gross_minor": split.gross.minor,
                    "fee_minor": split.fee.minor,
                    "net_minor": split.net.minor,
                    "entry_id": out.entry_id,
                },
                events=(
                    MilestoneReleased(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        release_id=out.release_id,
                        entry_id=out.entry_id,
                        gross=split.gross,
                        fee=split.fee,
                        net=split.net,
                        held_after=milestone.held,
                        clears_at=out.clears_at,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.APPROVE,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
