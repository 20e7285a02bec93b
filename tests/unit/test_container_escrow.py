"""Escrow as the composition root wires it: its rules and payout gateway from the settings,
and a dry run that holds no gateway able to send money."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.memory import SandboxPayoutGateway
from core.escrow.domain import DEFAULT_TIER, FeeSchedule
from core.shared.actor import Persona
from core.shared.money import Money
from core.shared.time import ManualClock
from entrypoints.container import build, build_in_memory
from entrypoints.settings import Settings, SettingsError
from tests.unit.escrow.world import EscrowWorld


def test_the_default_policy_is_the_sandbox_installations() -> None:
    policy = build_in_memory().use_cases.escrow_policy()

    assert policy.fees.tiers[DEFAULT_TIER] == FeeSchedule(bps=1_000, min_minor=50)
    assert (policy.auto_release_days, policy.clearing_period) == (14, timedelta(days=5))


def test_escrow_rules_come_from_the_settings() -> None:
    settings = Settings(escrow_fee_bps=250, escrow_fee_min_minor=0, escrow_auto_release_days=7, escrow_clearing_days=2)
    clock = ManualClock()
    world = EscrowWorld.over(build_in_memory(settings, clock=clock), clock)
    client = world.funded_client("client", 100_000)
    provider = world.user("provider", Persona.PROVIDER)

    view = world.contract(client, provider, 10_000)
    contract_id, milestone_id = view.contract_id, view.milestones[0].milestone_id

    assert (view.fee_bps, view.milestones[0].fee_preview) == (250, Money.of(250, "EUR"))
    assert view.milestones[0].auto_release_days == 7
    world.fund(client, contract_id, milestone_id)
    world.submit(provider, contract_id, milestone_id)
    assert world.jump(timedelta(days=7)).fired[0].outcome == "released"
    assert world.earnings(provider).pending == Money.of(9_750, "EUR")
    world.jump(timedelta(days=2))
    assert world.earnings(provider).available == Money.of(9_750, "EUR")


def test_escrow_settings_are_read_from_the_environment_and_checked() -> None:
    env = {"GIGCORE_ESCROW_FEE_BPS": "300", "GIGCORE_TIMER_INTERVAL_SECONDS": "0", "GIGCORE_PAYOUT_GATEWAY": "sandbox"}
    settings = Settings.from_env(env)
    assert (settings.escrow_fee_bps, settings.timer_interval_seconds) == (300, 0)

    with pytest.raises(SettingsError) as refused:
        # Payment providers are payout gateways too (issue 5), once enabled; "bank" is none.
        Settings.from_env({"GIGCORE_ESCROW_FEE_BPS": "10001", "GIGCORE_PAYOUT_GATEWAY": "bank"})
    assert [p.split("=")[0] for p in refused.value.problems] == ["GIGCORE_ESCROW_FEE_BPS", "GIGCORE_PAYOUT_GATEWAY"]


def test_a_dry_run_holds_its_own_sandbox_gateway_under_the_live_ones_name() -> None:
    runtime = build(Settings(database_url="memory://"))
    live, dry = runtime.use_cases.payout_gateway(), runtime.dry_run.payout_gateway()

    assert isinstance(dry, SandboxPayoutGateway)
    assert dry is not live
    assert dry.name == live.name
    assert runtime.dry_run.escrow_policy() is runtime.use_cases.escrow_policy()
