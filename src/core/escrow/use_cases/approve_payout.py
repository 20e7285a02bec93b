from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions, PayoutApprovalRecorded, PayoutId, PayoutView
from core.escrow.ports import EscrowUnitOfWork
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class ApprovePayoutCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    payout_id: PayoutId


class ApprovePayout:
    """A finance checker approves a requested payout (maker-checker): the payee and the
    requester never may, and one checker counts once. When the approvals reach what the
    payout's band requires it becomes APPROVED, ready to execute. Each approval is
    audited. Raises Forbidden, PayoutNotFound, IllegalTransition, PayoutSelfApproval,
    PayoutAlreadyApproved. Emits PayoutApprovalRecorded."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: ApprovePayoutCommand) -> PayoutView:
        def body(uow: EscrowUnitOfWork) -> Change[PayoutView]:
            payout = uow.payouts.lock(command.payout_id)
            before = (payout.status.value, len(payout.approvals))
            approved = payout.approve(command.by.id)
            uow.payouts.save(payout)
            now = self._clock.now()
            return Change(
                result=PayoutView.of(payout),
                target=f"payout:{payout.id}",
                before={"status": before[0], "approvals": before[1]},
                after={
                    "status": payout.status.value,
                    "approvals": len(payout.approvals),
                    "required_approvals": payout.required_approvals,
                },
                events=(
                    PayoutApprovalRecorded(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=payout.id,
                        payout_id=payout.id,
                        approver=command.by.id,
                        approvals=len(payout.approvals),
                        required_approvals=payout.required_approvals,
                        approved=approved,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.APPROVE_PAYOUT,
            target=f"payout:{command.payout_id}",
            result_type=PayoutView,
            body=body,
        )
