"""Providers' minor units, where they differ from ISO 4217 (``core.shared.currencies``).

Our Money is ISO minor units; a provider that counts a currency with a different number of
decimals must get (and gives back) a rescaled integer, or money is off by a factor of 100:

- Stripe (docs.stripe.com/currencies): ISK is zero-decimal in ISO but Stripe takes it "as a
  two-decimal value" (x100, divisible by 100); MGA is two-decimal in ISO but on Stripe's
  zero-decimal list (whole ariary only). Three-decimal currencies must end in 0.
- Adyen (docs.adyen.com/development-resources/currency-codes, read here through a mirror of
  that table): CLP 2 and ISK 2 (ISO: 0), CVE 0 and IDR 0 (ISO: 2).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from core.shared.gateways import GatewayDeclined
from core.shared.money import Currency, Money


@attrs.frozen
class MinorUnits:
    provider: str
    exponents: Mapping[str, int]  # only where the provider differs from ISO
    last_digit_zero: frozenset[str] = frozenset()

    def outbound(self, money: Money) -> int:
        """``money`` in the provider's units. Raises GatewayDeclined for an amount the
        provider cannot express (final: no retry changes it)."""
        code = money.currency.code
        if code in self.last_digit_zero and money.minor % 10:
            raise GatewayDeclined(self.provider, f"{self.provider} takes {code} amounts ending in 0 only")
        shift = self.exponents.get(code, money.currency.exponent) - money.currency.exponent
        if shift >= 0:
            return money.minor * _pow10(shift)
        whole, rest = divmod(money.minor, _pow10(-shift))
        if rest:
            raise GatewayDeclined(self.provider, f"{self.provider} takes whole {code} units only")
        return whole

    def inbound(self, amount: int, code: str) -> Money:
        """A provider amount in ISO minor units. Raises ValueError when it is not exact."""
        currency = Currency(code.upper())
        shift = self.exponents.get(currency.code, currency.exponent) - currency.exponent
        if shift <= 0:
            return Money(amount * _pow10(-shift), currency)
        whole, rest = divmod(amount, _pow10(shift))
        if rest:
            raise ValueError(f"{amount} is not a whole number of {currency.code} minor units")
        return Money(whole, currency)


STRIPE = MinorUnits("stripe", {"ISK": 2, "MGA": 0}, frozenset({"BHD", "JOD", "KWD", "OMR", "TND"}))
ADYEN = MinorUnits("adyen", {"CLP": 2, "ISK": 2, "CVE": 0, "IDR": 0})


def _pow10(exponent: int) -> int:
    return int("1" + "0" * exponent)
