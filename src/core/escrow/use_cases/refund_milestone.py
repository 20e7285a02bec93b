from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    MAX_REASON,
    Actions,
    ContractId,
    EscrowPolicy,
    MilestoneAction,
    MilestoneId,
    MilestoneMoved,
    text,
)
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.movements import refund_to_client
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class RefundMilestoneCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId
    reason: str
    amount: Money | None = None  # default: everything held


class RefundMilestone:
    """Support sends held money back to the client, with a reason (kept in the audit
    record and the event): one entry, escrow -> client wallet. Allowed while FUNDED or
    SUBMITTED, on any contract; an emptied milestone is REFUNDED, otherwise it stays
    where it was. Raises Forbidden, ContractNotFound, MilestoneNotFound,
    IllegalTransition, InvalidInput, CurrencyMismatch, AmountExceedsHeld. Emits
    MilestoneRefunded."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: RefundMilestoneCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            reason = text("reason", command.reason, max_length=MAX_REASON)
            contract = uow.contracts.lock(command.contract_id)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.SUPPORT_REFUND)
            now = self._clock.now()
            before = (milestone.status.value, milestone.held.minor)
            refund = milestone.support_refund(command.amount, at=now)
            return refund_to_client(
                uow,
                contract,
                milestone,
                refund,
                before={"status": before[0], "held_minor": before[1]},
                initiated_by=command.by.ref,
                at=now,
                clearing_period=self._policy.clearing_period,
                by_support=True,
                reason=reason,
            )

        return self._runner.run(
            command,
            action=Actions.SUPPORT_REFUND,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
