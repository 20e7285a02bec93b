from __future__ import annotations

from collections.abc import Callable

from core.escrow.domain import (
    Actions,
    ContractId,
    ContractNotFound,
    ContractStatus,
    EscrowPolicy,
    FireTimerCommand,
    MilestoneNotFound,
    MilestoneTimedOut,
    TimerFired,
)
from core.escrow.ports import EntryKinds, EscrowUnitOfWork
from core.escrow.use_cases.movements import Outflow, move_out
from core.escrow.use_cases.timer_claims import fire_claimed, obsolete
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import EventId, new_id
from core.shared.time import Clock
from core.shared.timers import Timer


class TimeOutMilestone:
    """A milestone's deadline timer fired. UNFUNDED: it EXPIRES (nothing is held).
    FUNDED (not submitted): its timeout outcome applies to everything held — REFUND
    (escrow -> client wallet, REFUNDED) or RELEASE (as an approval of all, fee applies,
    RELEASED). In any other state (submitted work waits for the client; a dispute hold
    freezes it; it ended) the timer is obsolete. Runs as the system, once per timer.
    Emits MilestoneTimedOut."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: FireTimerCommand) -> TimerFired:
        def body(uow: EscrowUnitOfWork) -> Change[TimerFired]:
            now = self._clock.now()

            def handle(timer: Timer) -> Change[TimerFired]:
                try:
                    contract = uow.contracts.lock(ContractId(timer.text("contract_id")))
                    milestone = contract.milestone(timer.text("milestone_id"))
                except (ContractNotFound, MilestoneNotFound):
                    return obsolete(timer, state="gone")
                state, held_before = milestone.status.value, milestone.held
                if contract.status is not ContractStatus.ACTIVE:
                    return obsolete(timer, state=contract.status.value)
                result = milestone.time_out(contract.fee, at=now)
                if result is None:
                    return obsolete(timer, state=state)
                out: Outflow | None = None
                if result.split is not None or result.refund is not None:
                    out = move_out(
                        uow,
                        contract,
                        milestone,
                        kind=EntryKinds.ESCROW_RELEASE if result.split is not None else EntryKinds.ESCROW_REFUND,
                        split=result.split,
                        refund=result.refund,
                        initiated_by=command.by.ref,
                        at=now,
                        clearing_period=self._policy.clearing_period,
                    )
                uow.contracts.save(contract)
                outcome = result.status.value
                entry_id = None if out is None else out.entry_id
                split = result.split
                return Change(
                    result=TimerFired(timer_id=timer.id, kind=timer.kind, outcome=outcome, entry_id=entry_id),
                    target=f"milestone:{milestone.id}",
                    before={"status": state, "held_minor": held_before.minor},
                    after={"status": outcome, "held_minor": milestone.held.minor, "timer_id": timer.id},
                    events=(
                        MilestoneTimedOut(
                            event_id=EventId(new_id("evt")),
                            occurred_at=now,
                            aggregate_id=contract.id,
                            contract_id=contract.id,
                            milestone_id=milestone.id,
                            outcome=outcome,
                            entry_id=entry_id,
                            release_id=None if out is None else out.release_id,
                            gross=None if split is None else split.gross,
                            fee=None if split is None else split.fee,
                            net=None if split is None else split.net,
                            refunded=result.refund,
                        ),
                    ),
                )

            return fire_claimed(uow, command, at=now, handle=handle)

        return self._runner.run(
            command, action=Actions.TIME_OUT, target=f"timer:{command.timer_id}", result_type=TimerFired, body=body
        )
