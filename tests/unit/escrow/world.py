"""An escrow test world: the runtime (any persistence ring) plus helpers that speak
escrow's language. ``EscrowWorld.in_memory`` builds the in-memory graph; a SQL world is
the same class over ``build(...)`` (the property machine takes a factory)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from attrs import define
from dependency_injector import providers

from core.escrow.domain import (
    ContractId,
    ContractView,
    EscrowPolicy,
    MilestoneId,
    MilestoneMoved,
    MilestoneView,
    PayoutId,
    PayoutView,
    TimeoutOutcome,
)
from core.escrow.ports import PLATFORM, AccountKinds
from core.escrow.use_cases.accept_contract import AcceptContractCommand
from core.escrow.use_cases.agree_refund import AgreeRefundCommand
from core.escrow.use_cases.approve_milestone import ApproveMilestoneCommand
from core.escrow.use_cases.approve_payout import ApprovePayoutCommand
from core.escrow.use_cases.create_contract import CreateContractCommand, MilestoneSpec
from core.escrow.use_cases.execute_payout import ExecutePayoutCommand
from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult
from core.escrow.use_cases.fund_milestone import FundMilestoneCommand
from core.escrow.use_cases.get_contract import GetContractQuery
from core.escrow.use_cases.get_earnings import EarningsView, GetEarningsQuery
from core.escrow.use_cases.get_payout import GetPayoutQuery
from core.escrow.use_cases.open_dispute_hold import OpenDisputeHoldCommand
from core.escrow.use_cases.propose_refund import ProposeRefundCommand
from core.escrow.use_cases.refund_milestone import RefundMilestoneCommand
from core.escrow.use_cases.request_milestone_changes import RequestMilestoneChangesCommand
from core.escrow.use_cases.request_payout import RequestPayoutCommand
from core.escrow.use_cases.resolve_dispute_hold import ResolveDisputeHoldCommand
from core.escrow.use_cases.submit_milestone import SubmitMilestoneCommand
from core.ledger.domain import AccountKind
from core.shared.actor import Actor, Persona
from core.shared.ids import AccountId, IdempotencyKey, correlation_id
from core.shared.money import Currency, Money
from core.shared.time import ManualClock
from entrypoints.container import Runtime, build_in_memory
from tests.unit.core.world import World, key

TIMERS = Actor.system("timers")
C = TypeVar("C")


def days(n: float) -> timedelta:
    return timedelta(days=n)


@define
class EscrowWorld(World):
    @classmethod
    def in_memory(cls, policy: EscrowPolicy | None = None) -> EscrowWorld:
        clock = ManualClock()
        return cls.over(build_in_memory(clock=clock), clock, policy)

    @classmethod
    def over(cls, runtime: Runtime, clock: ManualClock, policy: EscrowPolicy | None = None) -> EscrowWorld:
        if policy is not None:
            runtime.use_cases.escrow_policy.override(providers.Object(policy))
            runtime.dry_run.escrow_policy.override(providers.Object(policy))
        return cls(runtime, clock)

    # --- commands ---------------------------------------------------------------------

    def command(self, cls: type[C], by: Actor, k: IdempotencyKey | None = None, **fields: Any) -> C:
        return cls(by=by, idempotency_key=k or key(), correlation_id=correlation_id(None), **fields)  # type: ignore[call-arg]

    def funded_client(self, handle: str, minor: int, currency: str = "EUR") -> Actor:
        client = self.user(handle, Persona.CLIENT)
        wallet = self.wallet(client, currency)
        if minor:
            self.deposit(client, wallet.wallet_id, Money.of(minor, currency))
        return client

    def contract(
        self,
        client: Actor,
        provider: Actor,
        *amounts: int,
        currency: str = "EUR",
        due_in: timedelta = timedelta(days=30),
        outcome: TimeoutOutcome = TimeoutOutcome.REFUND,
        auto_release_days: int | None = None,
        accept: bool = True,
    ) -> ContractView:
        specs = tuple(
            MilestoneSpec(
                title=f"Milestone {i + 1}",
                amount=Money.of(minor, currency),
                due_at=self.clock.now() + due_in,
                timeout_outcome=outcome,
                auto_release_days=auto_release_days,
            )
            for i, minor in enumerate(amounts)
        )
        view: ContractView = self.uc.create_contract()(
            self.command(
                CreateContractCommand,
                client,
                provider_id=provider.id,
                currency=Currency(currency),
                milestones=specs,
            )
        )
        if accept:
            view = self.accept(provider, view.contract_id)
        return view

    def accept(self, provider: Actor, contract_id: ContractId) -> ContractView:
        result: ContractView = self.uc.accept_contract()(
            self.command(AcceptContractCommand, provider, contract_id=contract_id)
        )
        return result

    # Each helper takes ``k`` to pin the idempotency key (for replays); default: a new one.

    def fund(
        self, client: Actor, contract_id: ContractId, milestone_id: MilestoneId, *, k: IdempotencyKey | None = None
    ) -> MilestoneMoved:
        return self._move("fund_milestone", FundMilestoneCommand, client, contract_id, milestone_id, k)

    def submit(
        self, provider: Actor, contract_id: ContractId, milestone_id: MilestoneId, *, k: IdempotencyKey | None = None
    ) -> MilestoneMoved:
        return self._move("submit_milestone", SubmitMilestoneCommand, provider, contract_id, milestone_id, k)

    def approve(
        self,
        client: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        amount: Money | None = None,
        *,
        k: IdempotencyKey | None = None,
    ) -> MilestoneMoved:
        return self._move(
            "approve_milestone", ApproveMilestoneCommand, client, contract_id, milestone_id, k, amount=amount
        )

    def request_changes(
        self, client: Actor, contract_id: ContractId, milestone_id: MilestoneId, *, k: IdempotencyKey | None = None
    ) -> MilestoneMoved:
        return self._move(
            "request_milestone_changes", RequestMilestoneChangesCommand, client, contract_id, milestone_id, k
        )

    def propose_refund(
        self,
        client: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        amount: Money,
        *,
        k: IdempotencyKey | None = None,
    ) -> MilestoneMoved:
        return self._move("propose_refund", ProposeRefundCommand, client, contract_id, milestone_id, k, amount=amount)

    def agree_refund(
        self,
        provider: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        amount: Money,
        *,
        k: IdempotencyKey | None = None,
    ) -> MilestoneMoved:
        return self._move("agree_refund", AgreeRefundCommand, provider, contract_id, milestone_id, k, amount=amount)

    def support_refund(
        self,
        support: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        amount: Money | None = None,
        reason: str = "work was never delivered",
        *,
        k: IdempotencyKey | None = None,
    ) -> MilestoneMoved:
        return self._move(
            "refund_milestone",
            RefundMilestoneCommand,
            support,
            contract_id,
            milestone_id,
            k,
            amount=amount,
            reason=reason,
        )

    def open_hold(
        self,
        party: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        reason: str = "we disagree",
        *,
        k: IdempotencyKey | None = None,
    ) -> MilestoneMoved:
        return self._move(
            "open_dispute_hold", OpenDisputeHoldCommand, party, contract_id, milestone_id, k, reason=reason
        )

    def resolve(
        self,
        support: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        *,
        release: Money,
        refund: Money,
        reason: str = "split after mediation",
        k: IdempotencyKey | None = None,
    ) -> MilestoneMoved:
        return self._move(
            "resolve_dispute_hold",
            ResolveDisputeHoldCommand,
            support,
            contract_id,
            milestone_id,
            k,
            release=release,
            refund=refund,
            reason=reason,
        )

    def _move(
        self,
        use_case: str,
        cls: type[Any],
        by: Actor,
        contract_id: ContractId,
        milestone_id: MilestoneId,
        k: IdempotencyKey | None = None,
        **fields: Any,
    ) -> MilestoneMoved:
        result: MilestoneMoved = getattr(self.uc, use_case)()(
            self.command(cls, by, k, contract_id=contract_id, milestone_id=milestone_id, **fields)
        )
        return result

    def fire(self, by: Actor = TIMERS) -> FireDueTimersResult:
        result: FireDueTimersResult = self.uc.fire_due_timers()(
            FireDueTimersCommand(by=by, correlation_id=correlation_id(None))
        )
        return result

    def jump(self, delta: timedelta) -> FireDueTimersResult:
        """Move the clock and fire whatever fell due."""
        self.clock.advance(delta)
        return self.fire()

    # --- payouts ----------------------------------------------------------------------

    def request_payout(
        self, by: Actor, amount: Money, payee_id: str | None = None, k: IdempotencyKey | None = None
    ) -> PayoutView:
        result: PayoutView = self.uc.request_payout()(
            self.command(RequestPayoutCommand, by, k, amount=amount, payee_id=payee_id)
        )
        return result

    def approve_payout(self, by: Actor, payout_id: PayoutId) -> PayoutView:
        result: PayoutView = self.uc.approve_payout()(self.command(ApprovePayoutCommand, by, payout_id=payout_id))
        return result

    def execute_payout(self, by: Actor, payout_id: PayoutId, k: IdempotencyKey | None = None) -> PayoutView:
        result: PayoutView = self.uc.execute_payout()(self.command(ExecutePayoutCommand, by, k, payout_id=payout_id))
        return result

    def payout(self, by: Actor, payout_id: PayoutId) -> PayoutView:
        result: PayoutView = self.uc.get_payout()(GetPayoutQuery(by=by, payout_id=payout_id))
        return result

    # --- reads ------------------------------------------------------------------------

    def view(self, by: Actor, contract_id: ContractId) -> ContractView:
        result: ContractView = self.uc.get_contract()(GetContractQuery(by=by, contract_id=contract_id))
        return result

    def milestone(self, by: Actor, contract_id: ContractId, position: int) -> MilestoneView:
        return self.view(by, contract_id).milestones[position - 1]

    def earnings(self, user: Actor, currency: str = "EUR") -> EarningsView:
        result: EarningsView = self.uc.get_earnings()(GetEarningsQuery(by=user, currency=Currency(currency)))
        return result

    def escrow_balance(self, milestone_id: str, currency: str = "EUR") -> Money:
        with self.runtime.new_unit_of_work() as uow:
            account = uow.book.find_account(
                owner_id=PLATFORM, kind=AccountKinds.ESCROW, currency=Currency(currency), label=milestone_id
            )
            return Money.zero(Currency(currency)) if account is None else uow.book.balance(account)

    def balances_of(self, kind: AccountKind) -> dict[str, Money]:
        """Every account of one kind: account id -> balance."""
        with self.runtime.new_unit_of_work() as uow:
            return {b.account_id: b.balance for b in uow.accounts.balances() if b.kind is kind}

    def total_of(self, kind: AccountKind, currency: str = "EUR") -> int:
        return sum(m.minor for m in self.balances_of(kind).values() if m.currency.code == currency)

    def fee_revenue(self, currency: str = "EUR") -> int:
        return self.total_of(AccountKind.FEE_REVENUE, currency)

    def wallet_of(self, user: Actor, currency: str = "EUR") -> AccountId:
        with self.runtime.new_unit_of_work() as uow:
            account = uow.book.find_account(owner_id=user.id, kind=AccountKinds.WALLET, currency=Currency(currency))
            assert account is not None
            return AccountId(account)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a refused command must leave alone: balances, entries, contracts,
        payouts, timers and outbox (read from the store's own adapter)."""
        with self.runtime.new_unit_of_work() as uow:
            balances = tuple((b.account_id, b.balance) for b in uow.accounts.balances())
        store = self.runtime.persistence.store()
        return (
            balances,
            len(store.entries),
            tuple(sorted((c.id, c.version) for c in store.contracts.values())),
            tuple(sorted((p.id, p.version) for p in store.payouts.values())),
            tuple(sorted((t.timer.id, t.fired_at) for t in store.timers.values())),
            len(store.outbox),
        )

    def now(self) -> datetime:
        return self.clock.now()


def ids(view: ContractView) -> tuple[ContractId, Sequence[MilestoneId]]:
    return view.contract_id, [m.milestone_id for m in view.milestones]
