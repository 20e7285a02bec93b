from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions, ContractDecided, ContractId, ContractView
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
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
            contract = lock_as(uow.contracts, command.by, command.contract_id, Role.CLIENT, Actions.CANCEL_CONTRACT)
            now = self._clock.now()
            contract.cancel(at=now)
            uow.contracts.save(contract)
            return Change(
                result=ContractView.of(contract),
                target=f"contract:{contract.id}",
                before={"status": "proposed"},
                after={"status": contract.status.value},
                events=(
                    ContractDecided(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        status=contract.status.value,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.CANCEL_CONTRACT,
            target=f"contract:{command.contract_id}",
            result_type=ContractView,
            body=body,
        )
