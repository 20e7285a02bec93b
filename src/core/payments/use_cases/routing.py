"""Choosing a provider: the routing policy's candidates, minus open circuits and
providers already tried for this payment."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from core.payments.domain import BreakerPolicy, PaymentMethod, RoutingPolicy
from core.payments.ports import PaymentGateway, RoutingState
from core.shared.money import Currency


class Router:
    """The routing policy, the configured gateways and the circuit breakers together."""

    def __init__(
        self,
        policy: RoutingPolicy,
        gateways: Mapping[str, PaymentGateway],
        state: RoutingState,
        breaker: BreakerPolicy | None = None,
    ) -> None:
        self.policy = policy
        self.gateways = gateways
        self.state = state
        self.breaker = breaker or BreakerPolicy()

    def configured(self, currency: Currency, country: str, method: PaymentMethod) -> list[str]:
        """Providers that take the payment and have a gateway, in fallback order."""
        return [p for p in self.policy.candidates(currency, country, method) if p in self.gateways]

    def available(
        self, currency: Currency, country: str, method: PaymentMethod, *, now: datetime, exclude: Collection[str] = ()
    ) -> list[str]:
        """``configured`` minus ``exclude`` and providers whose circuit is open."""
        return [
            p
            for p in self.configured(currency, country, method)
            if p not in exclude and self.state.get(p).allows(now, self.breaker)
        ]

    def gateway(self, provider: str) -> PaymentGateway:
        return self.gateways[provider]

    def succeeded(self, provider: str) -> None:
        self.state.update(provider, lambda s: s.succeeded())

    def failed(self, provider: str, *, now: datetime) -> None:
        self.state.update(provider, lambda s: s.failed(now, self.breaker))
