"""The hand-off from payments to escrow: a payment captured for a milestone funds it."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from core.escrow.domain import (
    Actions,
    ContractId,
    ContractNotFound,
    ContractStatus,
    FundingRefusals,
    MilestoneAction,
    MilestoneFunded,
    MilestoneFundingRefused,
    MilestoneId,
    MilestoneNotFound,
)
from core.escrow.ports import PLATFORM, AccountKinds, EntryKinds, EscrowUnitOfWork
from core.shared.actor import Actor
from core.shared.audit import AuditDraft, Outcome
from core.shared.errors import InvalidInput
from core.shared.events import DomainEvent, EventEnvelope, MalformedEvent
from core.shared.idempotency import fingerprint
from core.shared.ids import AuditRecordId, CorrelationId, EventId, IdempotencyKey, idempotency_key, new_id
from core.shared.money import Money
from core.shared.time import Clock

CONSUMER_NAME = "escrow_funding"
ACTOR = Actor.system(CONSUMER_NAME)
PAYMENT_CAPTURED = "payments.payment_captured"  # payments' event, by name (no import)


@frozen(kw_only=True)
class FundFromCapture:
    """What the consumer was asked to do (fingerprinted for the per-payment claim)."""

    payment_id: str
    payer_id: str
    contract_id: str
    milestone_id: str
    amount: Money


@frozen(kw_only=True)
class FundFromCaptureResult:
    """Stored per payment: ``funded`` with its ledger entry, or ``refused`` with a
    FundingRefusals reason."""

    outcome: str
    reason: str = ""
    entry_id: str = ""


class FundMilestoneFromCapture:
    """The event consumer (``core.messaging.Consumer``, structurally) that funds the
    milestone a ``payments.payment_captured`` event names in ``escrow`` from the payer's
    wallet, which the capture just credited: one ESCROW_FUND entry (wallet -> the
    milestone's escrow account), the milestone FUNDED, MilestoneFunded emitted and an
    audit record by ``system:escrow_funding`` for the client, as FundMilestone does.

    The same rules hold: the payer must be the contract's client, the contract active,
    the milestone UNFUNDED and the payment's amount exactly the milestone's. When one
    fails nothing moves (the money stays in the payer's wallet); MilestoneFundingRefused
    says why and a rejected audit record is written. Captures without ``escrow`` are
    ignored.

    Exactly once: ``HandleEvent``'s inbox dedupes deliveries, and the outcome is also
    claimed per payment in the idempotency store (scope ``system:escrow_funding``), so a
    replay of the same capture under another event id changes nothing and says nothing.
    Raises MalformedEvent (final) for a payload it cannot read; DependencyUnavailable
    or ConcurrentUpdate from storage (retried).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    @property
    def name(self) -> str:
        return CONSUMER_NAME

    @property
    def events(self) -> frozenset[str]:
        return frozenset({PAYMENT_CAPTURED})

    def handle(self, envelope: EventEnvelope, uow: EscrowUnitOfWork) -> None:
        request = _request(envelope)
        if request is None:
            return  # a wallet top-up: nothing for escrow
        key = _claim_key(envelope, request.payment_id)
        now = self._clock.now()
        prior = uow.idempotency.claim(
            ACTOR.ref,
            key,
            command=Actions.FUND,
            fingerprint=fingerprint(Actions.FUND, request),
            at=now,
            result_type=FundFromCaptureResult,
        )
        if prior is not None:
            return  # this payment was handed off before: funded or refused, once
        correlation = CorrelationId(envelope.event_id[:128])
        target = f"milestone:{request.milestone_id}"
        refusal = _refusal(uow, request)
        if refusal is not None:
            uow.idempotency.complete(ACTOR.ref, key, FundFromCaptureResult(outcome="refused", reason=refusal))
            uow.audit.append(
                AuditDraft(
                    id=AuditRecordId(new_id("aud")),
                    at=now,
                    actor=ACTOR.ref,
                    action=Actions.FUND,
                    target=target,
                    outcome=Outcome.REJECTED,
                    reason=refusal,
                    correlation_id=correlation,
                    after={"payment_id": request.payment_id, "for": request.payer_id},
                )
            )
            uow.outbox.add((_refused(request, refusal, now),))
            return
        entry_id = self._fund(uow, request, now)
        uow.idempotency.complete(ACTOR.ref, key, FundFromCaptureResult(outcome="funded", entry_id=entry_id))
        uow.audit.append(
            AuditDraft(
                id=AuditRecordId(new_id("aud")),
                at=now,
                actor=ACTOR.ref,
                action=Actions.FUND,
                target=target,
                outcome=Outcome.SUCCEEDED,
                correlation_id=correlation,
                before={"status": "unfunded", "held_minor": 0},
                after={
                    "status": "funded",
                    "held_minor": request.amount.minor,
                    "entry_id": entry_id,
                    "payment_id": request.payment_id,
                    "for": request.payer_id,
                },
            )
        )

    def _fund(self, uow: EscrowUnitOfWork, request: FundFromCapture, at: datetime) -> str:
        # FundMilestone's body, for a contract _refusal has already checked.
        contract = uow.contracts.lock(ContractId(request.contract_id))
        milestone = contract.active_milestone(request.milestone_id, MilestoneAction.FUND)
        book = uow.book
        wallet = book.account(owner_id=contract.client_id, kind=AccountKinds.WALLET, currency=contract.currency, at=at)
        escrow = book.account(
            owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=contract.currency, label=milestone.id, at=at
        )
        amount = milestone.fund(escrow_account_id=escrow, at=at)
        entry_id = book.post(
            kind=EntryKinds.ESCROW_FUND,
            memo=f"fund {milestone.id} of {contract.id} from payment {request.payment_id}",
            initiated_by=ACTOR.ref,
            legs=[(wallet, amount.negated()), (escrow, amount)],
            at=at,
        )
        uow.contracts.save(contract)
        uow.outbox.add(
            (
                MilestoneFunded(
                    event_id=EventId(new_id("evt")),
                    occurred_at=at,
                    aggregate_id=contract.id,
                    contract_id=contract.id,
                    milestone_id=milestone.id,
                    amount=amount,
                    entry_id=entry_id,
                ),
            )
        )
        return entry_id


def _refusal(uow: EscrowUnitOfWork, request: FundFromCapture) -> str | None:
    """Why this payment cannot fund its milestone, or None. Locks the contract (the
    funding that follows runs under that lock)."""
    try:
        contract = uow.contracts.lock(ContractId(request.contract_id))
    except ContractNotFound:
        return FundingRefusals.CONTRACT_NOT_FOUND
    if request.payer_id != contract.client_id:
        return FundingRefusals.PAYER_NOT_CLIENT
    try:
        milestone = contract.milestone(request.milestone_id)
    except MilestoneNotFound:
        return FundingRefusals.MILESTONE_NOT_FOUND
    if contract.status is not ContractStatus.ACTIVE or not milestone.allows(MilestoneAction.FUND):
        return FundingRefusals.NOT_FUNDABLE
    if request.amount != milestone.amount:
        return FundingRefusals.AMOUNT_MISMATCH
    wallet = uow.book.find_account(owner_id=contract.client_id, kind=AccountKinds.WALLET, currency=contract.currency)
    if wallet is None or request.amount.exceeds(uow.book.balance(wallet)):
        return FundingRefusals.INSUFFICIENT_FUNDS
    return None


def _refused(request: FundFromCapture, reason: str, now: datetime) -> DomainEvent:
    return MilestoneFundingRefused(
        event_id=EventId(new_id("evt")),
        occurred_at=now,
        aggregate_id=request.contract_id,
        contract_id=ContractId(request.contract_id),
        milestone_id=MilestoneId(request.milestone_id),
        payment_id=request.payment_id,
        payer_id=request.payer_id,
        amount=request.amount,
        reason=reason,
    )


# --- reading the payments event (its payload only) ------------------------------------


def _request(envelope: EventEnvelope) -> FundFromCapture | None:
    escrow = envelope.payload.get("escrow")
    if escrow is None:
        return None
    if not isinstance(escrow, dict):
        raise MalformedEvent(envelope.event_id, "escrow is not an object")
    contract_id, milestone_id = escrow.get("contract_id"), escrow.get("milestone_id")
    if not isinstance(contract_id, str) or not isinstance(milestone_id, str):
        raise MalformedEvent(envelope.event_id, "escrow lacks contract_id or milestone_id")
    return FundFromCapture(
        payment_id=envelope.text("payment_id"),
        payer_id=envelope.text("payer_id"),
        contract_id=contract_id,
        milestone_id=milestone_id,
        amount=_money(envelope, "amount"),
    )


def _money(envelope: EventEnvelope, key: str) -> Money:
    value = envelope.payload.get(key)
    if not isinstance(value, dict):
        raise MalformedEvent(envelope.event_id, f"{key} is not an amount")
    minor, currency = value.get("minor"), value.get("currency")
    if isinstance(minor, bool) or not isinstance(minor, int) or not isinstance(currency, str):
        raise MalformedEvent(envelope.event_id, f"{key} is not an amount")
    try:
        return Money.of(minor, currency)
    except InvalidInput as error:
        raise MalformedEvent(envelope.event_id, f"{key}: {error.reason}") from None


def _claim_key(envelope: EventEnvelope, payment_id: str) -> IdempotencyKey:
    try:
        return idempotency_key(f"capture:{payment_id}")
    except InvalidInput:
        raise MalformedEvent(envelope.event_id, "payment_id is not a usable id") from None
