from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    Actions,
    ContractId,
    MilestoneAction,
    MilestoneId,
    MilestoneMoved,
    MilestoneRefundProposed,
)
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class ProposeRefundCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId
    amount: Money


class ProposeRefund:
    """The client proposes that ``amount`` of a funded (not submitted) milestone goes
    back to them; nothing moves until the provider agrees to that exact amount. A new
    proposal replaces the last; any other move of the milestone withdraws it. Raises
    Forbidden, ContractNotFound, MilestoneNotFound, IllegalTransition, InvalidInput,
    CurrencyMismatch, AmountExceedsHeld. Emits MilestoneRefundProposed."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: ProposeRefundCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.CLIENT, Actions.PROPOSE_REFUND)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.PROPOSE_REFUND)
            now = self._clock.now()
            milestone.propose_refund(command.amount, at=now)
            uow.contracts.save(contract)
            return Change(
                result=MilestoneMoved(
                    contract_id=contract.id, milestone_id=milestone.id, status=milestone.status, held=milestone.held
                ),
                target=f"milestone:{milestone.id}",
                after={"refund_proposal_minor": command.amount.minor},
                events=(
                    MilestoneRefundProposed(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        amount=command.amount,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.PROPOSE_REFUND,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
