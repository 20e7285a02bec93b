"""Random sequences of escrow operations keep escrow's money rules.

The machine drives the real use cases through the composition root: contracts, funding,
submission, approval (partial or whole), requests for changes, refunds (agreed or by
support), dispute holds and their settlement, clock jumps that fire timers (auto-release,
deadlines with both outcomes, clearing), and payouts with approvals and a gateway that
declines or fails. Before each step it predicts from the specified state table whether
the step is legal, and checks the use case agrees. After every step:

- every journal entry balances, and all balances sum to zero per currency;
- each milestone's escrow account holds exactly what the milestone says it holds, and
  ``held + released + refunded`` is its amount once funded (nothing is released or
  refunded twice);
- a milestone that reached a terminal state never leaves it, and ``held`` is never
  negative;
- fees never exceed what was released, and fee revenue is the sum of all fees;
- no wallet, pending, in-transit or escrow account is negative, and each payee's money
  in transit is the sum of their unfinished payouts.

Runs on the in-memory graph here; ``make_world`` takes any ``EscrowWorld`` factory, and
``tests/contract/test_escrow_machine_{sqlite,postgres}.py`` run the same machine on the SQL
adapter (``tests/contract/escrow_machine.py``). ``GIGCORE_HYPOTHESIS_EXAMPLES`` raises the
example count (default 25 here, 10 on SQL).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, precondition, rule

from adapters.memory import SandboxPayoutGateway
from core.escrow.domain import (
    AmountExceedsHeld,
    ContractId,
    IllegalTransition,
    MilestoneId,
    MilestoneStatus,
    PayoutAlreadyApproved,
    PayoutId,
    PayoutStatus,
    RefundNotProposed,
    SettlementDoesNotMatchHeld,
    TimeoutOutcome,
)
from core.ledger.domain import AccountKind, InsufficientFunds
from core.shared.actor import Actor, Persona
from core.shared.gateways import GatewayUnavailable
from core.shared.ids import IdempotencyKey
from core.shared.money import Money
from tests.unit.core.test_ledger_properties import unbalanced_entries
from tests.unit.core.world import key
from tests.unit.escrow.world import TIMERS, EscrowWorld

EXAMPLES = int(os.environ.get("GIGCORE_HYPOTHESIS_EXAMPLES", "25"))

LEGAL: dict[str, set[str]] = {  # the specification (test_state_machine.py checks the code's table)
    "fund": {"unfunded"},
    "submit": {"funded"},
    "approve": {"submitted"},
    "request_changes": {"submitted"},
    "propose_refund": {"funded"},
    "agree_refund": {"funded"},
    "support_refund": {"funded", "submitted"},
    "open_dispute_hold": {"funded", "submitted"},
    "resolve_dispute_hold": {"disputed"},
}
RUNNING = {AccountKind.WALLET, AccountKind.WALLET_PENDING, AccountKind.PAYOUT_IN_TRANSIT, AccountKind.ESCROW}
UNFINISHED = {PayoutStatus.REQUESTED, PayoutStatus.APPROVED, PayoutStatus.EXECUTING}

Ref = tuple[ContractId, MilestoneId]


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


class EscrowMachine(RuleBasedStateMachine):
    make_world: Callable[[], EscrowWorld] = staticmethod(EscrowWorld.in_memory)

    milestones = Bundle("milestones")
    payouts = Bundle("payouts")

    def __init__(self) -> None:
        super().__init__()
        self.world = self.make_world()
        w = self.world
        self.clients = [w.funded_client(f"client{i}", 500_000) for i in range(2)]
        self.providers = [w.user("provider", Persona.PROVIDER), w.user("agency", Persona.AGENCY)]
        for provider in self.providers:  # some money to pay out from the start
            w.deposit(provider, w.wallet(provider).wallet_id, eur(300_000))
        self.support = w.user("support", Persona.SUPPORT)
        self.checkers = [w.user(f"finance{i}", Persona.FINANCE) for i in range(2)]
        self.parties: dict[ContractId, tuple[Actor, Actor]] = {}
        self.terminal: dict[MilestoneId, MilestoneStatus] = {}
        self.outflows: dict[MilestoneId, tuple[int, int]] = {}  # (released, refunded) last seen
        self.payees: dict[PayoutId, Actor] = {}
        self.last: tuple[Callable[[], Any], Any] | None = None

    # --- reading the system -------------------------------------------------------------

    def state(self, ref: Ref) -> tuple[str, Any]:
        """(state name for the table, milestone view): the contract's state while it is
        not active (every milestone action is then illegal)."""
        view = self.world.view(self.support, ref[0])
        milestone = next(m for m in view.milestones if m.milestone_id == ref[1])
        return (milestone.status.value if view.status.value == "active" else view.status.value), milestone

    def gateway(self) -> SandboxPayoutGateway:
        gateway: SandboxPayoutGateway = self.world.runtime.use_cases.payout_gateway()
        return gateway

    def act(
        self, action: str, ref: Ref, call: Callable[[IdempotencyKey], Any], refusal: type[Exception] | None = None
    ) -> None:
        """Run ``call`` (with one key, so it can be replayed): IllegalTransition exactly
        when the table says so, otherwise the predicted rule refusal (or success)."""
        k = key()

        def send() -> Any:
            return call(k)

        state, _ = self.state(ref)
        if state not in LEGAL[action]:
            with pytest.raises(IllegalTransition):
                send()
            event(f"{action}: illegal")
        elif refusal is not None:
            with pytest.raises(refusal):
                send()
            event(f"{action}: {refusal.__name__}")
        else:
            self.last = (send, send())
            event(f"{action}: done")

    # --- contracts and milestones -------------------------------------------------------

    @rule(
        target=milestones,
        who=st.integers(0, 1),
        amounts=st.lists(st.integers(1, 200_000), min_size=1, max_size=3),
        due_days=st.integers(1, 40),
        outcome=st.sampled_from(TimeoutOutcome),
        auto_days=st.integers(1, 20),
        accept=st.booleans(),
    )
    def create_contract(
        self, who: int, amounts: list[int], due_days: int, outcome: TimeoutOutcome, auto_days: int, accept: bool
    ) -> Any:
        client, provider = self.clients[who], self.providers[who]
        view = self.world.contract(
            client,
            provider,
            *amounts,
            due_in=timedelta(days=due_days),
            outcome=outcome,
            auto_release_days=auto_days,
            accept=accept,
        )
        self.parties[view.contract_id] = (client, provider)
        return multiple(*((view.contract_id, m.milestone_id) for m in view.milestones))

    @rule(ref=milestones)
    def accept_late(self, ref: Ref) -> None:
        state, _ = self.state(ref)
        provider = self.parties[ref[0]][1]
        if state == "proposed":
            self.world.accept(provider, ref[0])
        else:
            with pytest.raises(IllegalTransition):
                self.world.accept(provider, ref[0])

    @rule(ref=milestones)
    def fund(self, ref: Ref) -> None:
        client, _ = self.parties[ref[0]]
        _, milestone = self.state(ref)
        short = milestone.amount.exceeds(self.world.earnings(client).available)
        self.act("fund", ref, lambda k: self.world.fund(client, *ref, k=k), InsufficientFunds if short else None)

    @rule(ref=milestones)
    def submit(self, ref: Ref) -> None:
        self.act("submit", ref, lambda k: self.world.submit(self.parties[ref[0]][1], *ref, k=k))

    @rule(ref=milestones, part=st.none() | st.integers(1, 250_000))
    def approve(self, ref: Ref, part: int | None) -> None:
        _, milestone = self.state(ref)
        too_much = part is not None and part > milestone.held.minor
        amount = None if part is None else eur(part)
        self.act(
            "approve",
            ref,
            lambda k: self.world.approve(self.parties[ref[0]][0], *ref, amount, k=k),
            AmountExceedsHeld if too_much else None,
        )

    @rule(ref=milestones)
    def request_changes(self, ref: Ref) -> None:
        self.act("request_changes", ref, lambda k: self.world.request_changes(self.parties[ref[0]][0], *ref, k=k))

    @rule(ref=milestones, part=st.integers(1, 250_000), agree=st.booleans(), same=st.booleans())
    def refund_by_agreement(self, ref: Ref, part: int, agree: bool, same: bool) -> None:
        client, provider = self.parties[ref[0]]
        _, milestone = self.state(ref)
        self.act(
            "propose_refund",
            ref,
            lambda k: self.world.propose_refund(client, *ref, eur(part), k=k),
            AmountExceedsHeld if part > milestone.held.minor else None,
        )
        if not agree:
            return
        _, milestone = self.state(ref)
        agreed = part if same else part + 1
        proposed = milestone.refund_proposal
        self.act(
            "agree_refund",
            ref,
            lambda k: self.world.agree_refund(provider, *ref, eur(agreed), k=k),
            None if proposed == eur(agreed) else RefundNotProposed,
        )

    @rule(ref=milestones, part=st.none() | st.integers(1, 250_000))
    def support_refund(self, ref: Ref, part: int | None) -> None:
        _, milestone = self.state(ref)
        too_much = part is not None and part > milestone.held.minor
        amount = None if part is None else eur(part)
        self.act(
            "support_refund",
            ref,
            lambda k: self.world.support_refund(self.support, *ref, amount, k=k),
            AmountExceedsHeld if too_much else None,
        )

    @rule(ref=milestones, by_client=st.booleans())
    def open_dispute_hold(self, ref: Ref, by_client: bool) -> None:
        party = self.parties[ref[0]][0 if by_client else 1]
        self.act("open_dispute_hold", ref, lambda k: self.world.open_hold(party, *ref, k=k))

    @rule(ref=milestones, share=st.integers(0, 100), off_by=st.sampled_from([0, 0, 0, 1, -1]))
    def resolve_dispute_hold(self, ref: Ref, share: int, off_by: int) -> None:
        _, milestone = self.state(ref)
        held = milestone.held.minor
        release = held * share // 100
        refund = max(held - release + off_by, 0)
        mismatch = release + refund != held
        self.act(
            "resolve_dispute_hold",
            ref,
            lambda k: self.world.resolve(self.support, *ref, release=eur(release), refund=eur(refund), k=k),
            SettlementDoesNotMatchHeld if mismatch else None,
        )

    @rule(ref=milestones, choice=st.integers(0, 3), percent=st.integers(1, 100))
    def drive(self, ref: Ref, choice: int, percent: int) -> None:
        """Take a legal step for the milestone's current state, so that random sequences
        reach the deep states (released in parts, settled, paid out) often."""
        state, milestone = self.state(ref)
        provider = self.parties[ref[0]][1]
        some = eur(max(milestone.held.minor * percent // 100, 1))
        w = self.world
        if state == "proposed":
            w.accept(provider, ref[0])
        elif state == "unfunded":
            self.fund(ref)
        elif state == "funded":
            steps: list[Callable[[], None]] = [
                lambda: self.submit(ref),
                lambda: self.submit(ref),
                lambda: self.refund_by_agreement(ref, some.minor, agree=True, same=True),
                lambda: self.open_dispute_hold(ref, by_client=percent % 2 == 0),
            ]
            steps[choice]()
        elif state == "submitted":
            steps = [
                lambda: self.approve(ref, None),
                lambda: self.approve(ref, some.minor),
                lambda: self.request_changes(ref),
                lambda: self.support_refund(ref, some.minor) if percent > 80 else self.open_dispute_hold(ref, True),
            ]
            steps[choice]()
        elif state == "disputed":
            self.resolve_dispute_hold(ref, share=percent, off_by=0)

    @rule(ref=milestones, choices=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 100)), max_size=4))
    def drive_on(self, ref: Ref, choices: list[tuple[int, int]]) -> None:
        """A few legal steps in a row on one milestone."""
        for choice, percent in choices:
            self.drive(ref, choice, percent)

    @rule(hours=st.integers(1, 24 * 16))
    def time_passes(self, hours: int) -> None:
        result = self.world.jump(timedelta(hours=hours))
        assert result.failed == ()
        for fired in result.fired:
            event(f"timer {fired.kind}: {fired.outcome}")

    # --- payouts ------------------------------------------------------------------------

    @rule(target=payouts, who=st.integers(0, 1), fraction=st.integers(1, 120))
    def request_payout(self, who: int, fraction: int) -> Any:
        provider = self.providers[who]
        available = self.world.earnings(provider).available.minor
        amount = max(available * fraction // 100, 1)
        if amount > available:
            with pytest.raises(InsufficientFunds):
                self.world.request_payout(provider, eur(amount))
            return multiple()
        payout = self.world.request_payout(provider, eur(amount))
        self.payees[payout.payout_id] = provider
        return payout.payout_id

    @rule(payout_id=payouts, checker=st.integers(0, 1))
    def approve_payout(self, payout_id: PayoutId, checker: int) -> None:
        finance = self.checkers[checker]
        payout = self.world.payout(finance, payout_id)
        if payout.status is not PayoutStatus.REQUESTED:
            with pytest.raises(IllegalTransition):
                self.world.approve_payout(finance, payout_id)
        elif finance.id in payout.approvals:
            with pytest.raises(PayoutAlreadyApproved):
                self.world.approve_payout(finance, payout_id)
        else:
            self.world.approve_payout(finance, payout_id)

    @rule(payout_id=payouts, mood=st.sampled_from(["fine", "fine", "decline", "outage", "lost_answer"]))
    def execute_payout(self, payout_id: PayoutId, mood: str) -> None:
        before = self.world.payout(TIMERS, payout_id)
        if mood == "decline":
            self.gateway().decline_next("sandbox says no")
        elif mood in ("outage", "lost_answer"):
            self.gateway().fail_next(1, after_processing=mood == "lost_answer")

        k = key()

        def send() -> Any:
            return self.world.execute_payout(TIMERS, payout_id, k)

        if before.status not in (PayoutStatus.APPROVED, PayoutStatus.EXECUTING):
            with pytest.raises(IllegalTransition):
                send()
        elif mood in ("outage", "lost_answer"):
            with pytest.raises(GatewayUnavailable):
                send()
            assert self.world.payout(TIMERS, payout_id).status is PayoutStatus.EXECUTING
        else:
            self.last = (send, send())
            event(f"payout: {self.last[1].status.value}")
        self.gateway().clear_faults()  # a decline or outage not used up does not leak into later steps

    @precondition(lambda self: self.last is not None)
    @rule()
    def replay_last(self) -> None:
        assert self.last is not None
        send, first = self.last
        assert send() == first

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def every_entry_balances_and_the_ledger_sums_to_zero(self) -> None:
        assert unbalanced_entries(self.world) == []
        assert all(total == 0 for total in self.world.totals().values())

    @invariant()
    def escrow_holds_what_the_milestones_say(self) -> None:
        fees = 0
        with self.world.runtime.new_unit_of_work() as uow:
            for contract_id in self.parties:
                for m in uow.contracts.get(contract_id).milestones:
                    zero = Money.zero(m.amount.currency)
                    assert not m.held.is_negative
                    assert m.fees.minor <= m.released.minor
                    fees += m.fees.minor
                    if m.escrow_account_id is None:
                        assert (m.held, m.released, m.refunded) == (zero, zero, zero)
                        continue
                    assert uow.book.balance(m.escrow_account_id) == m.held
                    assert m.held.plus(m.released).plus(m.refunded) == m.amount
                    seen = self.outflows.get(m.id, (0, 0))
                    # Nothing released or refunded ever comes back, so nothing goes out twice.
                    assert m.released.minor >= seen[0] and m.refunded.minor >= seen[1]
                    self.outflows[m.id] = (m.released.minor, m.refunded.minor)
                    if m.status.is_terminal:
                        assert m.held == zero
                        assert self.terminal.setdefault(m.id, m.status) is m.status
                    else:
                        assert m.id not in self.terminal
        assert self.world.fee_revenue() == fees

    @invariant()
    def no_running_account_is_negative(self) -> None:
        with self.world.runtime.new_unit_of_work() as uow:
            assert [b for b in uow.accounts.balances() if b.kind in RUNNING and b.balance.is_negative] == []

    @invariant()
    def money_in_transit_is_the_unfinished_payouts(self) -> None:
        expected: dict[str, int] = {p.id: 0 for p in self.providers}
        for payout_id, payee in self.payees.items():
            payout = self.world.payout(TIMERS, payout_id)
            if payout.status in UNFINISHED:
                expected[payee.id] += payout.amount.minor
        for provider in self.providers:
            assert self.world.earnings(provider).in_transit.minor == expected[provider.id]


EscrowMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEscrowInMemory = EscrowMachine.TestCase
