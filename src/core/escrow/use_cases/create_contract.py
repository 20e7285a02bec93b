from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from attrs import frozen

from core.escrow.domain import (
    MAX_AUTO_RELEASE_DAYS,
    MAX_MILESTONES,
    MAX_TITLE,
    Actions,
    Contract,
    ContractCreated,
    ContractId,
    ContractStatus,
    ContractView,
    EscrowPolicy,
    Milestone,
    MilestoneId,
    ProviderNotFound,
    TimeoutOutcome,
    positive,
    text,
)
from core.escrow.ports import EscrowUnitOfWork
from core.shared.actor import Actor, Persona
from core.shared.authorization import Authorizer
from core.shared.commands import Change, CommandRunner
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, EventId, IdempotencyKey, new_id
from core.shared.money import Currency, Money
from core.shared.time import Clock

_PROVIDING = frozenset({Persona.PROVIDER, Persona.AGENCY, Persona.MENTOR})


@frozen(kw_only=True)
class MilestoneSpec:
    title: str
    amount: Money
    due_at: datetime
    timeout_outcome: TimeoutOutcome = TimeoutOutcome.REFUND
    auto_release_days: int | None = None  # default: the installation's (14)


@frozen(kw_only=True)
class CreateContractCommand:
    by: Actor
    idempotency_key: IdempotencyKey
    correlation_id: CorrelationId
    provider_id: str
    currency: Currency
    milestones: tuple[MilestoneSpec, ...]


class CreateContract:
    """A client proposes a contract to a provider: ordered milestones in one currency.

    The fee schedule of the provider's tier is snapshotted on the contract, and the
    result shows each milestone's fee and net if released whole, before anything is
    funded. The contract is PROPOSED until the provider accepts it. Raises Forbidden,
    InvalidInput, CurrencyMismatch, ProviderNotFound. Emits ContractCreated."""

    def __init__(
        self, new_uow: Callable[[], EscrowUnitOfWork], authorizer: Authorizer, clock: Clock, policy: EscrowPolicy
    ) -> None:
        self._runner = CommandRunner(new_uow, authorizer, clock)
        self._clock = clock
        self._policy = policy

    def __call__(self, command: CreateContractCommand) -> ContractView:
        def body(uow: EscrowUnitOfWork) -> Change[ContractView]:
            now = self._clock.now()
            if not 1 <= len(command.milestones) <= MAX_MILESTONES:
                raise InvalidInput("milestones", f"1 to {MAX_MILESTONES} milestones")
            if command.provider_id == command.by.id:
                raise InvalidInput("provider_id", "a client cannot contract with themselves")
            milestones = tuple(
                self._milestone(i, spec, command.currency, now) for i, spec in enumerate(command.milestones)
            )
            personas = uow.parties.personas(command.provider_id)
            if personas is None or personas.isdisjoint(_PROVIDING):
                raise ProviderNotFound(command.provider_id)
            tier, fee = self._policy.fees.for_provider(personas)
            contract = Contract(
                id=ContractId(new_id("ctr")),
                client_id=command.by.id,
                provider_id=command.provider_id,
                currency=command.currency,
                fee=fee,
                fee_tier=tier,
                status=ContractStatus.PROPOSED,
                milestones=milestones,
                created_at=now,
            )
            uow.contracts.add(contract)
            total = Money(sum(m.amount.minor for m in milestones), command.currency)
            return Change(
                result=ContractView.of(contract),
                target=f"contract:{contract.id}",
                after={
                    "provider_id": contract.provider_id,
                    "milestones": len(milestones),
                    "total_minor": total.minor,
                    "currency": command.currency.code,
                    "fee_tier": tier,
                },
                events=(
                    ContractCreated(
                        event_id=EventId(new_id("evt")),
                        occurred_at=now,
                        aggregate_id=contract.id,
                        contract_id=contract.id,
                        client_id=contract.client_id,
                        provider_id=contract.provider_id,
                        currency=command.currency.code,
                        total=total,
                        fee_tier=tier,
                    ),
                ),
            )

        return self._runner.run(
            command,
            action=Actions.CREATE_CONTRACT,
            target=f"provider:{command.provider_id}",
            result_type=ContractView,
            body=body,
        )

    def _milestone(self, index: int, spec: MilestoneSpec, currency: Currency, now: datetime) -> Milestone:
        field = f"milestones[{index}]"
        if not isinstance(spec.due_at, datetime) or spec.due_at.tzinfo is None:
            raise InvalidInput(f"{field}.due_at", "an aware date and time")
        try:
            due_at = spec.due_at.astimezone(UTC)  # the core's times are UTC (audit hashes, storage)
        except (OverflowError, ValueError):
            raise InvalidInput(f"{field}.due_at", "out of range") from None
        if due_at <= now:
            raise InvalidInput(f"{field}.due_at", "must be in the future")
        days = self._policy.auto_release_days if spec.auto_release_days is None else spec.auto_release_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_AUTO_RELEASE_DAYS:
            raise InvalidInput(f"{field}.auto_release_days", f"1 to {MAX_AUTO_RELEASE_DAYS} days")
        if not isinstance(spec.timeout_outcome, TimeoutOutcome):
            raise InvalidInput(f"{field}.timeout_outcome", "refund or release")
        return Milestone(
            id=MilestoneId(new_id("mil")),
            position=index + 1,
            title=text(f"{field}.title", spec.title, max_length=MAX_TITLE),
            amount=positive(f"{field}.amount", spec.amount, currency),
            due_at=due_at,
            timeout_outcome=spec.timeout_outcome,
            auto_release_days=days,
        )
