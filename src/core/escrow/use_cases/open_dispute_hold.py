from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    MAX_REASON,
    Actions,
    ContractId,
    MilestoneAction,
    MilestoneDisputeHoldOpened,
    MilestoneId,
    MilestoneMoved,
    text,
)
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class OpenDisputeHoldCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId
    reason: str


class OpenDisputeHold:
    """Either party freezes a funded or submitted milestone (DISPUTED): from then on no
    approval, refund, auto-release or deadline acts on it until support resolves the
    hold. Raises Forbidden, ContractNotFound, MilestoneNotFound, IllegalTransition,
    InvalidInput. Emits MilestoneDisputeHoldOpened."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: OpenDisputeHoldCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            reason = text("reason", command.reason, max_length=MAX_REASON)
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.PARTY, Actions.OPEN_DISPUTE_HOLD)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.OPEN_DISPUTE_HOLD)
            now = self._clock.now()
            before = milestone.status.value
            milestone.open_dispute_hold(by=command.by.id, at=now)
            uow.contracts.save(contract)
            return Change(
                result=MilestoneMoved(
                    contract_id=contract.id, milestone_id=milestone.id, status=milestone.status, held=milestone.held
                ),
                target=f"milestone:{milestone.id}",
                before={"status": before},
                after={"status": milestone.status.value, "held_minor": milestone.held.minor, "reason": reason},
                events=(
                    MilestoneDisputeHoldOpened(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        opened_by=command.by.id,
                        held=milestone.held,
                        reason=reason,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.OPEN_DISPUTE_HOLD,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
