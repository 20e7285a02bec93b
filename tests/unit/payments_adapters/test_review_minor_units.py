"""Second review of providers' minor units: Stripe counts the Malagasy ariary as a
zero-decimal currency (docs.stripe.com/currencies#zero-decimal: BIF, CLP, DJF, GNF, JPY, KMF,
KRW, MGA, PYG, RWF, UGX, VND, VUV, XAF, XOF, XPF) while ISO 4217 gives MGA two decimals. Sent
unscaled, 10.00 MGA (1000 ISO minor units) is charged as 1000 MGA: a hundredfold overcharge
that the webhook (read back the same way) and reconciliation would both call a match."""

from __future__ import annotations

import pytest

from adapters.payments.minor_units import STRIPE
from core.shared.currencies import MINOR_UNIT_EXPONENTS
from core.shared.gateways import GatewayDeclined
from core.shared.money import Money

STRIPE_ZERO_DECIMAL = (
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "JPY",
    "KMF",
    "KRW",
    "MGA",
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
)


def test_ten_ariary_go_to_stripe_as_ten_and_come_back_as_ten() -> None:
    ten = Money.of(1000, "MGA")  # 10.00 MGA in ISO minor units
    assert STRIPE.outbound(ten) == 10
    assert STRIPE.inbound(10, "mga") == ten


def test_a_fraction_of_an_ariary_is_declined_before_sending() -> None:
    with pytest.raises(GatewayDeclined):
        STRIPE.outbound(Money.of(1050, "MGA"))


@pytest.mark.parametrize("code", STRIPE_ZERO_DECIMAL)
def test_every_stripe_zero_decimal_currency_is_sent_in_whole_units(code: str) -> None:
    one = Money.of(10 ** MINOR_UNIT_EXPONENTS[code], code)  # one whole unit
    assert STRIPE.outbound(one) == 1
    assert STRIPE.inbound(1, code.lower()) == one
