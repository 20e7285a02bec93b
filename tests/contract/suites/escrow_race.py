"""Conflicting commands on one milestone at the same moment: exactly one transition wins,
every other command gets a clear conflict (or, for a timer, finds nothing left to do),
and the money stays exact. Issue 3: "16 concurrent conflicting commands on one milestone
(approve, refund, dispute, auto-release firing) -> exactly one transition wins"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from core.escrow.domain import IllegalTransition, MilestoneMoved, MilestoneStatus
from core.escrow.use_cases.fire_due_timers import FireDueTimersResult
from core.escrow.use_cases.timer_claims import ALREADY_FIRED
from core.identity.use_cases.verify_audit_log import VerifyAuditLogQuery
from core.shared.actor import Actor, Persona
from core.shared.errors import ConcurrentUpdate
from core.shared.money import Money
from core.shared.timers import OBSOLETE
from tests.unit.core.test_ledger_properties import unbalanced_entries
from tests.unit.escrow.world import TIMERS, EscrowWorld, days

from ..builders import SYSTEM
from ..threads import race

AMOUNT = 10_000  # EUR minor units; the fee on it is 1,000 (10 %)
START = 50_000  # the client's wallet before funding
RACERS = 16
# The mix of commands, in the order the threads get them (four of each kind).
KINDS = ("approve", "support_refund", "open_dispute_hold", "fire_timers") * (RACERS // 4)
ROUNDS = 8  # each on a new milestone; the winner varies from round to round
CONFLICTS = (IllegalTransition, ConcurrentUpdate)  # both are 409s over HTTP


class EscrowRaceContract:
    """Subclasses supply ``world`` (an ``EscrowWorld`` over their adapter)."""

    @pytest.fixture
    def world(self) -> EscrowWorld:
        raise NotImplementedError

    def test_sixteen_conflicting_commands_on_a_submitted_milestone_have_one_winner(self, world: EscrowWorld) -> None:
        rounds = ROUNDS
        client = world.funded_client("client", START * rounds)
        provider = world.user("provider", Persona.PROVIDER)
        support = world.user("support", Persona.SUPPORT)
        winners: Counter[str] = Counter()
        for _ in range(rounds):
            winners[self._one_round(world, client, provider, support)] += 1
        assert sum(winners.values()) == rounds
        verification = world.uc.verify_audit_log()(VerifyAuditLogQuery(by=SYSTEM))
        assert verification.ok, verification.broken

    def _one_round(self, world: EscrowWorld, client: Actor, provider: Actor, support: Actor) -> str:
        # Earlier rounds' timers (clearing, deadlines) fire now, not during the race.
        assert world.jump(days(6)).failed == ()
        view = world.contract(client, provider, AMOUNT, auto_release_days=1)
        contract_id, milestone_id = view.contract_id, view.milestones[0].milestone_id
        world.fund(client, contract_id, milestone_id)
        world.submit(provider, contract_id, milestone_id)
        world.clock.advance(days(2))  # the auto-release timer is due: it races as well
        before = (world.earnings(client).available, world.earnings(provider).pending, world.fee_revenue())

        commands: dict[str, Callable[[], Any]] = {
            "approve": lambda: world.approve(client, contract_id, milestone_id),
            "support_refund": lambda: world.support_refund(support, contract_id, milestone_id, reason="race"),
            "open_dispute_hold": lambda: world.open_hold(provider, contract_id, milestone_id, reason="race"),
            "fire_timers": lambda: world.fire(TIMERS),
        }
        outcomes = race(*(commands[kind] for kind in KINDS))

        won: list[str] = []
        released_by_timer: set[str] = set()
        for kind, outcome in zip(KINDS, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, CONFLICTS), f"{kind} raised {outcome!r}"
            elif isinstance(outcome, MilestoneMoved):
                won.append(kind)
            else:
                assert isinstance(outcome, FireDueTimersResult), outcome
                assert outcome.failed == ()
                for fired in outcome.fired:
                    if fired.outcome == "released":
                        # Firers act as one actor under the key timer:<id>: one fires it,
                        # the others replay its stored outcome (one effect, same answer).
                        released_by_timer.add(fired.timer_id)
                    else:
                        assert fired.outcome in (OBSOLETE, ALREADY_FIRED), fired
        won += ["auto_release"] * len(released_by_timer)
        assert len(won) == 1, f"winners: {won}"

        milestone = world.milestone(support, contract_id, 1)
        client_available, provider_pending, fees = before
        expected = {
            "approve": (MilestoneStatus.RELEASED, 0, 0, AMOUNT - 1_000, 1_000),
            "auto_release": (MilestoneStatus.RELEASED, 0, 0, AMOUNT - 1_000, 1_000),
            "support_refund": (MilestoneStatus.REFUNDED, 0, AMOUNT, 0, 0),
            "open_dispute_hold": (MilestoneStatus.DISPUTED, AMOUNT, 0, 0, 0),
        }[won[0]]
        status, held, refunded, net, fee = expected
        assert (milestone.status, milestone.held.minor) == (status, held)
        assert world.escrow_balance(milestone_id) == Money.of(held, "EUR")
        assert world.earnings(client).available.minor == client_available.minor + refunded
        assert world.earnings(provider).pending.minor == provider_pending.minor + net
        assert world.fee_revenue() == fees + fee
        assert unbalanced_entries(world) == []
        assert all(total == 0 for total in world.totals().values())
        return won[0]


WORKERS = 4
MILESTONES = 12


class TimerWorkersContract:
    """Several workers' schedulers poll the same durable timers at once (issue 4): every
    due timer fires once, its effect happens once, and no poller fails."""

    @pytest.fixture
    def world(self) -> EscrowWorld:
        raise NotImplementedError

    def test_workers_polling_at_once_fire_each_due_timer_once(self, world: EscrowWorld) -> None:
        client = world.funded_client("client", AMOUNT * MILESTONES)
        provider = world.user("provider", Persona.PROVIDER)
        released: list[str] = []
        for _ in range(MILESTONES):
            view = world.contract(client, provider, AMOUNT, auto_release_days=1)
            contract_id, milestone_id = view.contract_id, view.milestones[0].milestone_id
            world.fund(client, contract_id, milestone_id)
            world.submit(provider, contract_id, milestone_id)
            released.append(contract_id)
        world.clock.advance(days(2))  # every auto-release is due now

        outcomes = race(*([lambda: world.fire(TIMERS)] * WORKERS))

        fired: Counter[str] = Counter()
        for outcome in outcomes:
            assert isinstance(outcome, FireDueTimersResult), outcome
            assert outcome.failed == ()
            for timer in outcome.fired:
                if timer.outcome == "released":
                    fired[timer.timer_id] += 1
        # A poller that loses the race replays the winner's stored outcome (same key
        # timer:<id>), so "released" may be reported more than once: the money says once.
        assert len(fired) == MILESTONES
        for contract_id in released:
            assert world.milestone(provider, contract_id, 1).status is MilestoneStatus.RELEASED
        assert world.earnings(provider).pending == Money.of(MILESTONES * (AMOUNT - 1_000), "EUR")
        assert world.fee_revenue() == MILESTONES * 1_000
