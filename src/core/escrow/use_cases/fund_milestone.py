from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import (
    Actions,
    ContractId,
    MilestoneAction,
    MilestoneFunded,
    MilestoneId,
    MilestoneMoved,
)
from core.escrow.ports import PLATFORM, AccountKinds, EntryKinds, EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.time import Clock


@frozen(kw_only=True)
class FundMilestoneCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId
    milestone_id: MilestoneId


class FundMilestone:
    """The client pays a milestone's amount from their wallet into its escrow account
    (one entry: wallet -> escrow); the milestone becomes FUNDED. The contract must be
    active. Raises Forbidden, ContractNotFound, MilestoneNotFound, IllegalTransition,
    InsufficientFunds. Emits MilestoneFunded."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: FundMilestoneCommand) -> MilestoneMoved:
        def body(uow: EscrowUnitOfWork) -> Change[MilestoneMoved]:
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.CLIENT, Actions.FUND)
            milestone = contract.active_milestone(command.milestone_id, MilestoneAction.FUND)
            milestone.guard(MilestoneAction.FUND)
            now, book = self._clock.now(), uow.book
            wallet = book.account(
                owner_id=contract.client_id, kind=AccountKinds.WALLET, currency=contract.currency, at=now
            )
            escrow = book.account(
                owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=contract.currency, label=milestone.id, at=now
            )
            amount = milestone.fund(escrow_account_id=escrow, at=now)
            entry_id = book.post(
                kind=EntryKinds.ESCROW_FUND,
                memo=f"fund {milestone.id} of {contract.id}",
                initiated_by=command.by.ref,
                legs=[(wallet, amount.negated()), (escrow, amount)],
                at=now,
            )
            uow.contracts.save(contract)
            return Change(
                result=MilestoneMoved(
                    contract_id=contract.id,
                    milestone_id=milestone.id,
                    status=milestone.status,
                    held=milestone.held,
                    entry_id=entry_id,
                ),
                target=f"milestone:{milestone.id}",
                before={"status": "unfunded", "held_minor": 0},
                after={"status": milestone.status.value, "held_minor": milestone.held.minor, "entry_id": entry_id},
                events=(
                    MilestoneFunded(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        milestone_id=milestone.id,
                        amount=amount,
                        entry_id=entry_id,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.FUND,
            target=f"milestone:{command.milestone_id}",
            result_type=MilestoneMoved,
            body=body,
        )
