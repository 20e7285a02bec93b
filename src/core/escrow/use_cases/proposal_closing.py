"""Closing a contract that is still proposed (the client cancels, the provider declines):
nothing was funded, so no money moves; only the status and its event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.escrow.domain import Contract, ContractDecided, ContractId, ContractView
from core.escrow.ports import EscrowUnitOfWork
from core.escrow.use_cases.access import Role, lock_as
from core.shared.actor import Actor
from core.shared.commands import Change
from core.shared.ids import EventId, new_id


def close_proposal(
    uow: EscrowUnitOfWork,
    *,
    by: Actor,
    contract_id: ContractId,
    role: Role,
    action: str,
    close: Callable[[Contract, datetime], None],
    now: datetime,
) -> Change[ContractView]:
    contract = lock_as(uow.contracts, by, contract_id, role, action)
    close(contract, now)
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
