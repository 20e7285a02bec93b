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
    MilestoneSettled,
    text,
)
from core.escrow.ports import EntryKinds, EscrowUnitOfWork
from core.escrow.use_cases.movements import move_out
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Money
from core.shared.time import Clock


@frozen(kw_only=True)
class ResolveDisputeHoldCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId
    release: Money  # to the provider, before the fee
    refund: Money  # to the client
    reason: str


class ResolveDisputeHold:
    """Support ends a dispute hold by splitting exactly what is held: one entry, escrow
    -> provider's pending earnings (the release part less the fee) + fee revenue + the
    client's wallet (the refund part). The milestone is SETTLED. Raises Forbidden,
    ContractNotFound, MilestoneNotFound, IllegalTransition, InvalidInput,
    CurrencyMismatch, SettlementDoesNotMatchHeld. Emits MilestoneSettled."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: ResolveDisputeHoldCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            reason = text("reason", command.reason, max_length=MAX_REASON)
            contract = uow.contracts.lock(command.contract_id)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.RESOLVE_DISPUTE_HOLD)
            now = self._clock.now()
            held_before = milestone.held
            split = milestone.resolve_dispute_hold(
                release=command.release, refund=command.refund, fee=contract.fee, at=now
            )
            out = move_out(
                uow,
                contract,
                milestone,
                kind=EntryKinds.ESCROW_SETTLEMENT,
                split=split,
                refund=command.refund,
                initiated_by=command.by.ref,
                at=now,
                clearing_period=self._policy.clearing_period,
            )
            uow.contracts.save(contract)
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
                    refunded=command.refund,
                ),
                target=f"milestone:{milestone.id}",
                before={"status": "disputed", "held_minor": held_before.minor},
                after={
                    "status": milestone.status.value,
                    "gross_minor": split.gross.minor,
                    "fee_minor": split.fee.minor,
                    "net_minor": split.net.minor,
                    "refunded_minor": command.refund.minor,
                    "entry_id": out.entry_id,
                    "reason": reason,
                },
                events=(
                    MilestoneSettled(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        entry_id=out.entry_id,
                        release_id=out.release_id,
                        gross=split.gross,
                        fee=split.fee,
                        net=split.net,
                        refunded=command.refund,
                        reason=reason,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.RESOLVE_DISPUTE_HOLD,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
