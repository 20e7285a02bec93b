from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions, ContractId, ContractView
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role
from core.escrow.use_cases.proposal_closing import close_proposal
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.time import Clock


@frozen(kw_only=True)
class CancelContractCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    contract_id: ContractId


class CancelContract:
    """The client cancels a contract that is still proposed; nothing was funded, so no
    money moves. Raises Forbidden, ContractNotFound, IllegalTransition. Emits
    ContractDecided."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock

    def __call__(self, command: CancelContractCommand) -> ContractView:
        def body(uow: EscrowUnitOfWork) -> Change[ContractView]:
            return close_proposal(
                uow,
                by=command.by,
                contract_id=command.contract_id,
                role=Role.CLIENT,
                action=Actions.CANCEL_CONTRACT,
                close=lambda contract, at: contract.cancel(at=at),
                now=self._clock.now(),
            )

        return self._runner.run(
            command,
            action=Actions.CANCEL_CONTRACT,
            target=f"contract:{command.contract_id}",
            result_type=ContractView,
            body=body,
        )
