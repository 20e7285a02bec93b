"""Providers' minor units against ISO 4217: where they differ, amounts are rescaled exactly."""

from __future__ import annotations

import pytest

from adapters.payments.minor_units import ADYEN, STRIPE, MinorUnits
from core.shared.gateways import GatewayDeclined
from core.shared.money import Money


@pytest.mark.parametrize(
    ("units", "money", "provider_amount"),
    [
        (STRIPE, Money.of(1050, "EUR"), 1050),
        (STRIPE, Money.of(500, "JPY"), 500),
        (STRIPE, Money.of(500, "ISK"), 50000),
        (STRIPE, Money.of(5120, "KWD"), 5120),
        (ADYEN, Money.of(1050, "EUR"), 1050),
        (ADYEN, Money.of(700, "ISK"), 70000),
        (ADYEN, Money.of(700, "CLP"), 70000),
        (ADYEN, Money.of(150000, "IDR"), 1500),
        (ADYEN, Money.of(2500, "CVE"), 25),
    ],
)
def test_amounts_round_trip_through_the_providers_units(units: MinorUnits, money: Money, provider_amount: int) -> None:
    assert units.outbound(money) == provider_amount
    assert units.inbound(provider_amount, money.currency.code.lower()) == money


@pytest.mark.parametrize(
    ("units", "money", "reason"),
    [(STRIPE, Money.of(5124, "KWD"), "ending in 0"), (ADYEN, Money.of(150050, "IDR"), "whole IDR")],
)
def test_an_amount_the_provider_cannot_express_is_declined_before_sending(
    units: MinorUnits, money: Money, reason: str
) -> None:
    with pytest.raises(GatewayDeclined, match=reason):
        units.outbound(money)


@pytest.mark.parametrize(("units", "amount", "code"), [(STRIPE, 50050, "isk"), (ADYEN, 70050, "CLP")])
def test_a_provider_amount_that_is_not_whole_iso_minor_units_is_refused(
    units: MinorUnits, amount: int, code: str
) -> None:
    with pytest.raises(ValueError, match="not a whole number"):
        units.inbound(amount, code)
