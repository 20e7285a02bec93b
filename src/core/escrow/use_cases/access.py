"""The object-level rules for contracts: each party acts only in its own role, staff
with a read-any or support permission see every contract, and nobody else learns that
a contract exists."""

from __future__ import annotations

import enum

from core.escrow.domain import Actions, Contract, ContractId, ContractNotFound
from core.escrow.ports import Contracts
from core.shared.actor import Actor
from core.shared.authorization import Authorizer, Forbidden


class Role(enum.Enum):
    CLIENT = "client"
    PROVIDER = "provider"
    PARTY = "party"  # either side


def may_see(actor: Actor, contract: Contract, authorizer: Authorizer) -> bool:
    return contract.is_party(actor.id) or authorizer.allows(actor, Actions.READ_ANY_CONTRACT)


def visible_contract(contracts: Contracts, actor: Actor, contract_id: ContractId, authorizer: Authorizer) -> Contract:
    """Raises ContractNotFound for a missing contract and a foreign one alike."""
    contract = contracts.get(contract_id)
    if not may_see(actor, contract, authorizer):
        raise ContractNotFound(contract_id)
    return contract


def lock_as(contracts: Contracts, actor: Actor, contract_id: ContractId, role: Role, action: str) -> Contract:
    """Lock a contract the actor is a party to, in ``role``.

    Raises:
        ContractNotFound: no such contract, or the actor is no party to it.
        Forbidden: the actor is a party, in the other role.
    """
    contract = contracts.lock(contract_id)
    if not contract.is_party(actor.id):
        raise ContractNotFound(contract_id)
    if role is Role.CLIENT and actor.id != contract.client_id:
        raise Forbidden(action)
    if role is Role.PROVIDER and actor.id != contract.provider_id:
        raise Forbidden(action)
    return contract
