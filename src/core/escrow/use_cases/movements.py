"""Money leaving a milestone's escrow, as one balanced entry per decision.

A release pays the provider's pending earnings (gross less the fee) and the platform's
fee revenue, and schedules the clearing of that release; a refund pays the client's
wallet; a dispute settlement does both in the same entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from attrs import frozen

from core.escrow.domain import (
    Contract,
    FeeSplit,
    Milestone,
    MilestoneMoved,
    MilestoneRefunded,
    ReleaseId,
    TimerKinds,
)
from core.escrow.ports import PLATFORM, AccountKinds, EntryKinds, EscrowUnitOfWork
from core.shared.commands import Change
from core.shared.ids import AccountId, EntryId, EventId, new_id
from core.shared.money import Money
from core.shared.timers import Timer


@frozen(kw_only=True)
class Outflow:
    entry_id: EntryId
    release_id: ReleaseId | None
    clears_at: datetime | None


def move_out(
    uow: EscrowUnitOfWork,
    contract: Contract,
    milestone: Milestone,
    *,
    kind: str,
    split: FeeSplit | None,
    refund: Money | None,
    initiated_by: str,
    at: datetime,
    clearing_period: timedelta,
) -> Outflow:
    """Post what the milestone already decided (its ``held`` has moved): ``split``
    released to the provider and the platform, ``refund`` back to the client."""
    book, currency = uow.book, contract.currency
    if milestone.escrow_account_id is None:
        raise RuntimeError(f"milestone {milestone.id} was never funded")  # the state machine rules this out
    escrow = milestone.escrow_account_id
    legs: list[tuple[AccountId, Money]] = []
    out = Money.zero(currency)
    release_id: ReleaseId | None = None
    notes: list[str] = []
    if split is not None and split.gross.is_positive:
        release_id = ReleaseId(new_id("rel"))
        pending = book.account(
            owner_id=contract.provider_id, kind=AccountKinds.WALLET_PENDING, currency=currency, at=at
        )
        fees = book.account(owner_id=PLATFORM, kind=AccountKinds.FEE_REVENUE, currency=currency, at=at)
        legs += [(pending, split.net), (fees, split.fee)]
        out = out.plus(split.gross)
        notes.append(f"release {release_id}: gross {split.gross}, fee {split.fee}, net {split.net}")
    if refund is not None and refund.is_positive:
        wallet = book.account(owner_id=contract.client_id, kind=AccountKinds.WALLET, currency=currency, at=at)
        legs.append((wallet, refund))
        out = out.plus(refund)
        notes.append(f"refund {refund}")
    legs.insert(0, (escrow, out.negated()))
    entry_id = book.post(
        kind=kind,
        memo=f"{milestone.id} of {contract.id}: " + "; ".join(notes),
        initiated_by=initiated_by,
        legs=legs,
        at=at,
    )
    clears_at = None
    if release_id is not None and split is not None:
        clears_at = at + clearing_period
        if split.net.is_positive:
            uow.timers.schedule(
                Timer.new(
                    TimerKinds.CLEARING,
                    clears_at,
                    {
                        "release_id": release_id,
                        "payee_id": contract.provider_id,
                        "currency": currency.code,
                        "net_minor": split.net.minor,
                        "contract_id": contract.id,
                        "milestone_id": milestone.id,
                    },
                )
            )
    return Outflow(entry_id=entry_id, release_id=release_id, clears_at=clears_at)


def refund_to_client(
    uow: EscrowUnitOfWork,
    contract: Contract,
    milestone: Milestone,
    refund: Money,
    *,
    before: Mapping[str, object],
    initiated_by: str,
    at: datetime,
    clearing_period: timedelta,
    by_support: bool,
    reason: str,
) -> Change[MilestoneMoved]:
    """Post a refund the milestone already decided (escrow -> client wallet), save the
    contract and describe the change: the one shape every refund path shares."""
    out = move_out(
        uow,
        contract,
        milestone,
        kind=EntryKinds.ESCROW_REFUND,
        split=None,
        refund=refund,
        initiated_by=initiated_by,
        at=at,
        clearing_period=clearing_period,
    )
    uow.contracts.save(contract)
    return Change(
        result=MilestoneMoved(
            contract_id=contract.id,
            milestone_id=milestone.id,
            status=milestone.status,
            held=milestone.held,
            entry_id=out.entry_id,
            refunded=refund,
        ),
        target=f"milestone:{milestone.id}",
        before=before,
        after={
            "status": milestone.status.value,
            "held_minor": milestone.held.minor,
            "refunded_minor": refund.minor,
            "entry_id": out.entry_id,
            "reason": reason,
        },
        events=(
            MilestoneRefunded(
                event_id=EventId(new_id("evt")),
                occurred_at=at,
                aggregate_id=contract.id,
                contract_id=contract.id,
                milestone_id=milestone.id,
                entry_id=out.entry_id,
                amount=refund,
                held_after=milestone.held,
                by_support=by_support,
                reason=reason,
            ),
        ),
    )
