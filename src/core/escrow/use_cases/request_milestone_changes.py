from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    Actions,
    ContractId,
    MilestoneAction,
    MilestoneChangesRequested,
    MilestoneId,
    MilestoneMoved,
)
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class RequestMilestoneChangesCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId


class RequestMilestoneChanges:
    """The client sends submitted work back (FUNDED again, the money stays held); the
    pending auto-release of that submission becomes obsolete. Raises Forbidden,
    ContractNotFound, MilestoneNotFound, IllegalTransition. Emits
    MilestoneChangesRequested."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: RequestMilestoneChangesCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.CLIENT, Actions.REQUEST_CHANGES)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.REQUEST_CHANGES)
            now = self._clock.now()
            milestone.request_changes(at=now)
            uow.contracts.save(contract)
            return Change(
                result=MilestoneMoved(
                    contract_id=contract.id, milestone_id=milestone.id, status=milestone.status, held=milestone.held
                ),
                target=f"milestone:{milestone.id}",
                before={"status": "submitted"},
                after={"status": milestone.status.value, "changes_requested": milestone.changes_requested},
                events=(
                    MilestoneChangesRequested(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        changes_requested=milestone.changes_requested,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.REQUEST_CHANGES,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
