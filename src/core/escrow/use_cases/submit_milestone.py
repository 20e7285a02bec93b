from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from attrs import frozen

from core.escrow.domain import (
    Actions,
    ContractId,
    MilestoneAction,
    MilestoneId,
    MilestoneMoved,
    MilestoneSubmitted,
    TimerKinds,
)
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock
from core.shared.timers import Timer


@frozen(kw_only=True)
class SubmitMilestoneCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId


class SubmitMilestone:
    """The provider submits the work of a funded milestone (SUBMITTED) and the
    auto-release timer is armed for ``auto_release_days`` later: if the client neither
    approves nor requests changes by then, everything held is released. Raises
    Forbidden, ContractNotFound, MilestoneNotFound, IllegalTransition. Emits
    MilestoneSubmitted."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: SubmitMilestoneCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.PROVIDER, Actions.SUBMIT)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.SUBMIT)
            now = self._clock.now()
            submission = milestone.submit(at=now)
            auto_release_at = now + timedelta(days=milestone.auto_release_days)
            uow.timers.schedule(
                Timer.new(
                    TimerKinds.AUTO_RELEASE,
                    auto_release_at,
                    {"contract_id": contract.id, "milestone_id": milestone.id, "submission": submission},
                )
            )
            uow.contracts.save(contract)
            return Change(
                result=MilestoneMoved(
                    contract_id=contract.id, milestone_id=milestone.id, status=milestone.status, held=milestone.held
                ),
                target=f"milestone:{milestone.id}",
                before={"status": "funded"},
                after={"status": milestone.status.value, "submission": submission},
                events=(
                    MilestoneSubmitted(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        submission=submission,
                        auto_release_at=auto_release_at,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.SUBMIT,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
