"""Payments in the composition root: the settings, the routing table, the secrets, and the
timer scheduler that fires payments' timers next to escrow's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dependency_injector import providers

from adapters.payments.secrets import EnvSecrets
from core.escrow.use_cases.fire_due_timers import FireDueTimersCommand, FireDueTimersResult
from core.payments.domain import PaymentMethod, PaymentStatus, Route, RoutingPolicy, TimerKinds
from core.payments.use_cases.start_top_up import StartTopUpCommand
from core.shared.errors import DependencyUnavailable
from core.shared.ids import correlation_id
from core.shared.money import Currency, Money
from core.shared.timers import FAILED_TIMER_RETRY, Timer
from entrypoints.container import build, build_in_memory
from entrypoints.payments_setup import ProviderPayoutGateway, build_payments, routing_policy
from entrypoints.settings import Settings, SettingsError
from entrypoints.timer_scheduler import BATCH, TimerScheduler, payments_rounds, scheduler_for
from tests.unit.core.world import World, key
from tests.unit.payments.fakes import FakePaymentGateway

from .conftest import SECRETS


def test_payment_settings_are_read_and_checked_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GIGCORE_PAYMENT_PROVIDERS": "stripe, paypal",
            "GIGCORE_PAYMENT_ROUTES": "EUR/NL/card=stripe;*=paypal,stripe",
            "GIGCORE_STRIPE_SANDBOX": "false",
            "GIGCORE_PAYPAL_BASE_URL": "http://127.0.0.1:8080",
        }
    )
    assert settings.enabled_payment_providers == ("stripe", "paypal")
    assert (settings.stripe_sandbox, settings.paypal_base_url) == (False, "http://127.0.0.1:8080")
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {
                "GIGCORE_PAYMENT_PROVIDERS": "stripe,worldpay",
                "GIGCORE_PAYMENT_ROUTES": "EURO=stripe",
                "GIGCORE_ADYEN_BASE_URL": "ftp://x",
                "GIGCORE_PAYOUT_GATEWAY": "bank",
            }
        )
    named = " ".join(raised.value.problems)
    for variable in ("PAYMENT_PROVIDERS", "PAYMENT_ROUTES", "ADYEN_BASE_URL", "PAYOUT_GATEWAY"):
        assert f"GIGCORE_{variable}" in named


def test_the_most_specific_route_comes_first_and_each_provider_once() -> None:
    policy = routing_policy(Settings(payment_routes="*=paypal,adyen;EUR=adyen,stripe;EUR/NL/ideal=adyen"))
    eur = Currency("EUR")
    assert policy.candidates(eur, "NL", PaymentMethod.IDEAL) == ["adyen", "stripe", "paypal"]
    assert policy.candidates(eur, "NL", PaymentMethod.CARD) == ["adyen", "stripe", "paypal"]
    assert policy.candidates(Currency("USD"), "US", PaymentMethod.CARD) == ["paypal", "adyen"]
    stripe_route = policy.route("stripe")
    assert stripe_route is not None and stripe_route.hold_limit == timedelta(days=90)
    with pytest.raises(SettingsError, match="unknown payment method 'cash'"):
        routing_policy(Settings(payment_routes="EUR/NL/cash=stripe"))


def test_missing_credentials_are_named_never_shown() -> None:
    environ = {k: v for k, v in SECRETS.items() if k != "GIGCORE_PAYPAL_CLIENT_SECRET"}
    environ["GIGCORE_STRIPE_API_KEY"] = "sk_live_should_not_be_shown_9Xy"
    settings = Settings(payment_providers="stripe,adyen,paypal")
    with pytest.raises(SettingsError) as raised:
        build_payments(settings, EnvSecrets(environ))
    text = str(raised.value)
    assert "GIGCORE_PAYPAL_CLIENT_SECRET" in text and "stripe" in text
    assert "sk_live_should_not_be_shown_9Xy" not in text
    with pytest.raises(SettingsError, match="GIGCORE_PAYOUT_GATEWAY"):
        build_payments(Settings(payout_gateway="adyen"), EnvSecrets({}))


def test_providers_are_built_from_a_secrets_directory(tmp_path: Path) -> None:
    for name, value in SECRETS.items():
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")
    runtime = build(
        Settings(
            database_url="memory://",
            payment_providers="stripe,adyen",
            secrets_dir=str(tmp_path),
            payout_gateway="adyen",
        )
    )
    assert sorted(runtime.use_cases.payment_gateways()) == ["adyen", "stripe"]
    assert sorted(runtime.use_cases.webhook_verifiers()) == ["adyen", "stripe"]
    assert isinstance(runtime.use_cases.payout_gateway(), ProviderPayoutGateway)
    assert runtime.dry_run.payment_gateways() == {}  # a dry run never reaches a provider
    consumers = {c.name for c in runtime.use_cases.consumers()}
    assert "payments.apply_provider_events" in consumers


def test_without_providers_nothing_is_built_and_the_defaults_hold() -> None:
    runtime = build_in_memory()
    assert runtime.use_cases.payment_gateways() == {}
    assert runtime.use_cases.webhook_verifiers() == {}
    assert runtime.use_cases.payout_gateway().name == "sandbox"


def world_with_gateway() -> tuple[World, FakePaymentGateway]:
    world = World.in_memory()
    gateway = FakePaymentGateway("stripe", world.clock.now)
    world.runtime.use_cases.payment_gateways.override(providers.Object({"stripe": gateway}))
    world.runtime.use_cases.routing_policy.override(providers.Object(RoutingPolicy(routes=(Route(provider="stripe"),))))
    return world, gateway


def test_the_scheduler_fires_the_janitor_for_a_payment_whose_answer_was_lost() -> None:
    world, gateway = world_with_gateway()
    client = world.user("cleo")
    gateway.lose_answers = 1
    view = world.uc.start_top_up()(
        StartTopUpCommand(
            by=client,
            idempotency_key=key(),
            correlation_id=correlation_id(None),
            amount=Money.of(900, "EUR"),
            method=PaymentMethod.CARD,
            country="NL",
            payment_token="tok",
        )
    )
    assert view.status is PaymentStatus.UNKNOWN
    scheduler = scheduler_for(world.runtime.use_cases, interval_seconds=60)
    assert scheduler.tick() == 0  # not due yet
    world.clock.advance(timedelta(minutes=2))
    assert scheduler.tick() == 1  # the payments.resolve timer: looked up, captured
    with world.runtime.new_unit_of_work() as uow:
        assert uow.payments.get(view.payment_id).status is PaymentStatus.CAPTURED
    assert len(gateway.charges) == 1


@pytest.mark.parametrize("failing_kind", [TimerKinds.RESOLVE, TimerKinds.REFUND_RETRY])
def test_timers_failing_for_good_do_not_starve_the_janitor(failing_kind: str) -> None:
    """More timers than a batch fail (their payment does not exist) before a good one is
    due: each is postponed by FAILED_TIMER_RETRY, so the same tick reaches the good one."""
    world, gateway = world_with_gateway()
    failing = [
        Timer.new(failing_kind, world.clock.now(), {"payment_id": f"pay_missing_{n}", "refund_id": "ref_x"})
        for n in range(BATCH + 1)
    ]
    with world.runtime.new_unit_of_work() as uow:
        for timer in failing:
            uow.timers.schedule(timer)
        uow.commit()
    gateway.lose_answers = 1
    view = world.uc.start_top_up()(
        StartTopUpCommand(
            by=world.user("cleo"),
            idempotency_key=key(),
            correlation_id=correlation_id(None),
            amount=Money.of(900, "EUR"),
            method=PaymentMethod.CARD,
            country="NL",
            payment_token="tok",
        )
    )
    world.clock.advance(timedelta(minutes=2))
    assert scheduler_for(world.runtime.use_cases, interval_seconds=60).tick() == 1  # the good resolve timer
    with world.runtime.new_unit_of_work() as uow:
        assert uow.payments.get(view.payment_id).status is PaymentStatus.CAPTURED
        retry_at = world.clock.now() + FAILED_TIMER_RETRY
        assert uow.timers.due(retry_at - timedelta(seconds=1), kinds={failing_kind}, limit=500) == []
        again = uow.timers.due(retry_at, kinds={failing_kind}, limit=500)
    assert {t.id for t in again} == {t.id for t in failing}


def test_failing_capture_and_hold_deadline_timers_are_postponed() -> None:
    world, _gateway = world_with_gateway()
    kinds = (TimerKinds.CAPTURE, TimerKinds.HOLD_DEADLINE)
    failing = [
        Timer.new(kind, world.clock.now(), {"payment_id": f"pay_missing_{n}"}) for n in range(3) for kind in kinds
    ]
    with world.runtime.new_unit_of_work() as uow:
        for timer in failing:
            uow.timers.schedule(timer)
        uow.commit()
    results = {r.name: r.fire(correlation_id(None), BATCH) for r in payments_rounds(world.runtime.use_cases)}
    assert len(results["payments.capture"].failed) == len(results["payments.hold_deadline"].failed) == 3
    with world.runtime.new_unit_of_work() as uow:
        assert uow.timers.due(world.clock.now(), kinds=kinds, limit=10) == []
        again = uow.timers.due(world.clock.now() + FAILED_TIMER_RETRY, kinds=kinds, limit=10)
    assert {t.id for t in again} == {t.id for t in failing}


def test_a_failing_round_does_not_keep_the_others_from_running() -> None:
    world, _gateway = world_with_gateway()
    calls: list[str] = []

    def broken(_command: FireDueTimersCommand) -> FireDueTimersResult:
        calls.append("escrow")
        raise DependencyUnavailable("database")

    rounds = payments_rounds(world.runtime.use_cases)
    spied = [type(r)(r.name, lambda c, n, r=r: (calls.append(r.name), r.fire(c, n))[1]) for r in rounds]
    scheduler = TimerScheduler(lambda: broken, interval_seconds=60, also=spied)
    with pytest.raises(DependencyUnavailable):
        scheduler.tick()
    assert calls == ["escrow", "payments.capture", "payments.resolve", "payments.hold_deadline"]


def test_hold_limits_come_from_the_settings_per_provider() -> None:
    policy = routing_policy(Settings(payment_hold_days="stripe=10,paypal=30"))
    stripe, paypal, adyen = policy.route("stripe"), policy.route("paypal"), policy.route("adyen")
    assert stripe is not None and stripe.hold_limit == timedelta(days=10)
    assert paypal is not None and paypal.hold_limit == timedelta(days=30)
    assert adyen is not None and adyen.hold_limit is None
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"GIGCORE_PAYMENT_HOLD_DAYS": "stripe=0,bank=3"})
    assert "GIGCORE_PAYMENT_HOLD_DAYS" in " ".join(raised.value.problems)
