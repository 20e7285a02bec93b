"""Payments' part of the composition root: the enabled providers' gateways and webhook
verifiers (built from the secrets by ``adapters.payments.providers``), the routing policy
from ``GIGCORE_PAYMENT_ROUTES``, the circuit breaker, and escrow's payout gateway over a
provider.

Nothing is built at import; the provider SDKs are imported only when a provider is
enabled, so an installation without payments starts exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from attrs import frozen

from core.payments.domain import BreakerPolicy, PaymentMethod, PayoutRequest, Route, RoutingPolicy
from core.payments.ports import PaymentGateway, PayoutDestinationsUnitOfWork, WebhookVerifier
from core.shared.errors import DomainError, ErrorCategory
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Money
from core.shared.time import Clock
from entrypoints.settings import Settings, SettingsError, parse_hold_days, parse_payment_routes


@frozen
class PaymentsWiring:
    """What ``build`` hands the use cases: gateways and verifiers by provider name."""

    gateways: Mapping[str, PaymentGateway]
    verifiers: Mapping[str, WebhookVerifier]
    policy: RoutingPolicy
    breaker: BreakerPolicy


def secrets_for(settings: Settings) -> Any:
    """The secrets source: files in ``GIGCORE_SECRETS_DIR`` first (when set), then the
    environment. Both are re-read at every call (webhook secrets rotate without restart)."""
    from adapters.payments.secrets import ChainedSecrets, EnvSecrets, FileSecrets

    if settings.secrets_dir:
        return ChainedSecrets(FileSecrets(settings.secrets_dir), EnvSecrets())
    return EnvSecrets()


def routing_policy(settings: Settings) -> RoutingPolicy:
    """``GIGCORE_PAYMENT_ROUTES`` as a policy: the most specific rules first (currency,
    country and method before currency and country, before currency, before ``*``), each
    rule's providers in its order; a provider listed by several matching rules takes its
    first place. Raises SettingsError for an unknown payment method."""
    rules = parse_payment_routes(settings.payment_routes)
    holds = parse_hold_days(settings.payment_hold_days)  # the provider's hold limit on each route
    known = {m.value: m for m in PaymentMethod}
    routes: list[Route] = []
    for index, rule in enumerate(rules):
        if rule.method is not None and rule.method not in known:
            raise SettingsError(
                [f"GIGCORE_PAYMENT_ROUTES: unknown payment method {rule.method!r} (one of {', '.join(known)})"]
            )
        specificity = sum(part is not None for part in (rule.currency, rule.country, rule.method))
        for position, provider in enumerate(rule.providers):
            routes.append(
                Route(
                    provider=provider,
                    priority=(3 - specificity) * 100_000 + index * 100 + position,
                    currencies=frozenset({rule.currency}) if rule.currency else frozenset(),
                    countries=frozenset({rule.country}) if rule.country else frozenset(),
                    methods=frozenset({known[rule.method]}) if rule.method else frozenset(),
                    hold_limit=timedelta(days=holds[provider]) if provider in holds else None,
                )
            )
    return RoutingPolicy(routes=tuple(routes))


def breaker_policy(settings: Settings) -> BreakerPolicy:
    return BreakerPolicy(
        failure_threshold=settings.payments_breaker_failures,
        cool_down=timedelta(seconds=settings.payments_breaker_cooldown_seconds),
    )


def build_payments(settings: Settings, secrets: Any = None) -> PaymentsWiring:
    """The enabled providers, each built from ``secrets`` (default ``secrets_for``).

    Raises:
        SettingsError: naming every missing secret, or a key that does not match the
            provider's sandbox switch (the value itself is never shown).
    """
    enabled = settings.enabled_payment_providers
    gateways: dict[str, PaymentGateway] = {}
    verifiers: dict[str, WebhookVerifier] = {}
    problems: list[str] = []
    if enabled:
        from adapters.payments.providers import adyen_provider, paypal_provider, stripe_provider
        from adapters.payments.secrets import SecretMissing

        source = secrets if secrets is not None else secrets_for(settings)
        builders: Mapping[str, tuple[Callable[..., Any], bool, str]] = {
            "stripe": (stripe_provider, settings.stripe_sandbox, settings.stripe_base_url),
            "adyen": (
                partial(adyen_provider, report_cache_dir=settings.adyen_report_cache_dir or None),
                settings.adyen_sandbox,
                settings.adyen_base_url,
            ),
            "paypal": (paypal_provider, settings.paypal_sandbox, settings.paypal_base_url),
        }
        for name in enabled:
            make, sandbox, base_url = builders[name]
            try:
                provider = make(source, sandbox=sandbox, base_url=base_url or None)
            except SecretMissing as error:
                problems.append(f"payment provider {name}: {error}")
                continue
            except ValueError as error:
                problems.append(f"payment provider {name}: {error}")
                continue
            gateways[name] = provider.gateway
            verifiers[name] = provider.verifier
    if settings.payout_gateway != "sandbox" and settings.payout_gateway not in enabled:
        problems.append(
            f"GIGCORE_PAYOUT_GATEWAY={settings.payout_gateway!r}: the provider is not in GIGCORE_PAYMENT_PROVIDERS"
        )
    if problems:
        raise SettingsError(problems)
    return PaymentsWiring(
        gateways=gateways, verifiers=verifiers, policy=routing_policy(settings), breaker=breaker_policy(settings)
    )


class ProviderPayoutGateway:
    """Escrow's ``PayoutGateway`` over a payment provider's payouts. Escrow names the payee
    by user id; the provider pays the destination that payee registered for it (a Stripe
    connected account ``acct_…``, an Adyen transfer instrument, a PayPal email or
    ``PAYPAL_ID:…``). A payee without one is declined before the provider is asked ("no
    payout destination registered for <provider>"), so escrow's failed-payout path returns
    the money to their wallet. The payout's key is the idempotency key, so a retry never
    pays twice. A lost answer, or a database that cannot answer, is reported to escrow as
    GatewayUnavailable, which escrow retries with the same key (never elsewhere).

    Pinned destinations: a retry sends the same idempotency key, so it must send the same
    body (Stripe refuses a key reused with other parameters; a provider without that check
    could pay both destinations). So the first attempt of a payout pins the destination it
    uses (``PayoutDestinations.pin``, committed in its own short unit of work from
    ``new_uow`` before the provider is asked, never inside escrow's transaction), and every
    retry of that payout pays the pinned destination, even if the payee registered another
    one in between; the new one applies to their next payout. A pin made for another payee
    or provider (the payout gateway setting changed while a payout's outcome was unknown)
    is never sent elsewhere: the attempt answers GatewayUnavailable and the payout waits for
    an operator."""

    def __init__(
        self, gateway: PaymentGateway, new_uow: Callable[[], PayoutDestinationsUnitOfWork], clock: Clock
    ) -> None:
        self._gateway = gateway
        self._new_uow = new_uow
        self._clock = clock

    @property
    def name(self) -> str:
        return self._gateway.name

    def destination_for(self, payout_id: str, payee: str) -> str:
        """The destination this payout pays: the one pinned by its first attempt, else the
        payee's registered destination at this provider, pinned now. Raises
        GatewayDeclined (none registered), GatewayUnavailable (the database cannot answer
        now, or the pin names another payee or provider)."""
        name = self._gateway.name
        try:
            with self._new_uow() as uow:
                pinned = uow.payout_destinations.pin(payout_id, payee, name, at=self._clock.now())
                uow.commit()
        except DomainError as error:
            if error.category in (ErrorCategory.UNAVAILABLE, ErrorCategory.CONFLICT):
                raise GatewayUnavailable(name) from None
            raise
        if pinned is None:
            raise GatewayDeclined(name, f"no payout destination registered for {name}")
        if (pinned.payee_id, pinned.provider) != (payee, name):
            raise GatewayUnavailable(name)
        return pinned.value

    def send(self, payout_id: str, payee: str, amount: Money, *, idempotency_key: str) -> str:
        request = PayoutRequest(
            payout_id=payout_id,
            destination=self.destination_for(payout_id, payee),
            amount=amount,
            idempotency_key=idempotency_key,
        )
        try:
            return self._gateway.payout(request).reference
        except GatewayOutcomeUnknown:
            raise GatewayUnavailable(self._gateway.name) from None
