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
)
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.escrow.use_cases.movements import refund_to_client
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class AgreeRefundCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId
    amount: Money  # must be the client's proposal, so both agreed on the same figure


class AgreeRefund:
    """The provider agrees to the client's refund proposal: one entry, escrow -> client
    wallet. A full refund ends the milestone (REFUNDED); a partial one leaves the rest
    held (FUNDED). Raises Forbidden, ContractNotFound, MilestoneNotFound,
    IllegalTransition, RefundNotProposed, AmountExceedsHeld. Emits MilestoneRefunded."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: AgreeRefundCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.PROVIDER, Actions.AGREE_REFUND)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.AGREE_REFUND)
            now = self._clock.now()
            status_before, held_before = milestone.status.value, milestone.held
            refund = milestone.agree_refund(command.amount, at=now)
            return refund_to_client(
                uow,
                contract,
                milestone,
                refund,
                before={"status": status_before, "held_minor": held_before.minor},
                initiated_by=command.by.ref,
                at=now,
                clearing_period=self._policy.clearing_period,
                by_support=False,
                reason="agreed by both parties",
            )

        return self._runner.run(
            command,
            action=Actions.AGREE_REFUND,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
