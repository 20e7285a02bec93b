from __future__ import annotations

from collections.abc import Callable

from core.escrow.domain import (
    Actions,
    ContractId,
    ContractNotFound,
    EscrowPolicy,
    FireTimerCommand,
    MilestoneAutoReleased,
    MilestoneNotFound,
    TimerFired,
)
from core.escrow.ports import EntryKinds, EscrowUnitOfWork
from core.escrow.use_cases.movements import move_out
from core.escrow.use_cases.timer_claims import fire_claimed, obsolete
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import EventId, new_id
from core.shared.time import Clock
from core.shared.timers import Timer

RELEASED = "released"


class AutoReleaseMilestone:
    """The auto-release timer of one submission fired: if the milestone is still
    SUBMITTED by that very submission (no approval, no request for changes, no dispute
    hold, no new submission since), everything held is released as if the client had
    approved it (the fee applies) and the milestone is RELEASED. Otherwise the timer is
    obsolete. Runs as the system, once per timer. Emits MilestoneAutoReleased."""

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
                submission = timer.number("submission")
                state = milestone.status.value
                split = milestone.auto_release(submission=submission, fee=contract.fee, at=now)
                if split is None:
                    return obsolete(timer, state=state)
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
                assert out.release_id is not None and out.clears_at is not None
                return Change(
                    result=TimerFired(timer_id=timer.id, kind=timer.kind, outcome=RELEASED, entry_id=out.entry_id),
                    target=f"milestone:{milestone.id}",
                    before={"status": state, "held_minor": split.gross.minor},
                    after={
                        "status": milestone.status.value,
                        "gross_minor": split.gross.minor,
                        "fee_minor": split.fee.minor,
                        "net_minor": split.net.minor,
                        "entry_id": out.entry_id,
                        "timer_id": timer.id,
                    },
                    events=(
                        MilestoneAutoReleased(
                            event_id=EventId(new_id("evt")),
                            occurred_at=now,
                            aggregate_id=contract.id,
                            contract_id=contract.id,
                            milestone_id=milestone.id,
                            release_id=out.release_id,
                            entry_id=out.entry_id,
                            submission=submission,
                            gross=split.gross,
                            fee=split.fee,
                            net=split.net,
                            clears_at=out.clears_at,
                        ),
                    ),
                )

            return fire_claimed(uow, command, at=now, handle=handle)

        return self._runner.run(
            command, action=Actions.AUTO_RELEASE, target=f"timer:{command.timer_id}", result_type=TimerFired, body=body
        )
