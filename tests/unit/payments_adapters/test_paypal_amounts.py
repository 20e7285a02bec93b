"""Amounts sent to PayPal: exact decimal strings, whole units where PayPal takes no decimals."""

from __future__ import annotations

import pytest

from adapters.payments.paypal_gateway import paypal_value
from core.shared.gateways import GatewayDeclined
from core.shared.money import Money


@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [
        (1050, "EUR", "10.50"),
        (1, "USD", "0.01"),
        (1000, "JPY", "1000"),
        (1234, "BHD", "1.234"),
        (1000, "HUF", "10"),
        (250000, "TWD", "2500"),
    ],
)
def test_amounts_go_out_as_exact_decimal_strings(minor: int, currency: str, value: str) -> None:
    assert paypal_value(Money.of(minor, currency)) == value


@pytest.mark.parametrize("currency", ["HUF", "TWD"])
def test_a_fraction_of_a_currency_paypal_takes_whole_is_declined_before_sending(currency: str) -> None:
    with pytest.raises(GatewayDeclined, match="whole"):
        paypal_value(Money.of(1050, currency))
