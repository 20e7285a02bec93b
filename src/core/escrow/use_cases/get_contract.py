from __future__ import annotations

from collections.abc import Callable

from attrs import frozen

from core.escrow.domain import Actions, ContractId, ContractView
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import visible_contract
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden


@frozen(kw_only=True)
class GetContractQuery:
    by: Actor
    contract_id: ContractId


class GetContract:
    """A contract with its milestones (state, held, released, refunded, fee preview), for
    its parties and for support, finance and admin. Reads only. Raises Forbidden,
    ContractNotFound (also for a contract that is not the actor's)."""

    def __init__(self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer) -> None:
        self._new_uow, self._authorizer = new_uow, authorizer

    def __call__(self, query: GetContractQuery) -> ContractView:
        if not self._authorizer.allows(query.by, Actions.READ_CONTRACT):
            raise Forbidden(Actions.READ_CONTRACT)
        with self._new_uow() as uow:
            return ContractView.of(visible_contract(uow.contracts, query.by, query.contract_id, self._authorizer))
