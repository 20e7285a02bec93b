"""The one fee rounding rule: fee = (gross * bps + 5000) // 10000 (half up), clamped to
[min, max], never above the gross."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.escrow.domain import (
    DEFAULT_TIER,
    FeeSchedule,
    FeeTable,
    PayoutBands,
)
from core.shared.actor import Persona
from core.shared.errors import InvalidInput
from core.shared.money import MAX_MOVEMENT, Money


def eur(minor: int) -> Money:
    return Money.of(minor, "EUR")


@pytest.mark.parametrize(
    ("gross", "bps", "min_minor", "max_minor", "fee"),
    [
        (100_000, 1_000, 50, None, 10_000),  # 10 % of 1,000.00
        (12_345, 1_000, 0, None, 1_235),  # 1,234.5 rounds half up
        (12_344, 1_000, 0, None, 1_234),  # 1,234.4 rounds down
        (5, 1_000, 0, None, 1),  # 0.5 rounds up
        (4, 1_000, 0, None, 0),  # 0.4 rounds down
        (1_999, 250, 0, None, 50),  # 49.975 -> 50
        (1_000, 1_000, 50, None, 100),  # above the floor
        (300, 1_000, 50, None, 50),  # 30 -> the floor
        (30, 1_000, 50, None, 30),  # the floor, but never above the gross
        (0, 1_000, 50, None, 0),  # nothing released, nothing charged
        (10_000_000, 1_000, 50, 25_000, 25_000),  # the ceiling
        (100, 10_000, 0, None, 100),  # 100 %
        (100, 0, 0, None, 0),  # free
        (100, 0, 10, None, 10),  # free, but with a floor
        (MAX_MOVEMENT, 9_999, 0, None, (MAX_MOVEMENT * 9_999 + 5_000) // 10_000),  # exact at the largest movement
    ],
)
def test_fee_table(gross: int, bps: int, min_minor: int, max_minor: int | None, fee: int) -> None:
    schedule = FeeSchedule(bps=bps, min_minor=min_minor, max_minor=max_minor)
    split = schedule.split(eur(gross))
    assert (split.fee, split.net) == (eur(fee), eur(gross - fee))


schedules = st.builds(
    lambda bps, floor, extra: FeeSchedule(bps=bps, min_minor=floor, max_minor=None if extra is None else floor + extra),
    st.integers(0, 10_000),
    st.integers(0, 10**6),
    st.none() | st.integers(0, 10**7),
)


@given(schedule=schedules, gross=st.integers(0, MAX_MOVEMENT))
def test_the_fee_follows_the_one_rule_and_never_exceeds_the_gross(schedule: FeeSchedule, gross: int) -> None:
    split = schedule.split(eur(gross))
    exact = (Decimal(gross) * schedule.bps / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    expected = max(int(exact), schedule.min_minor)
    if schedule.max_minor is not None:
        expected = min(expected, schedule.max_minor)
    expected = min(expected, gross)
    assert split.fee == eur(expected)
    assert 0 <= split.fee.minor <= gross
    assert split.fee.plus(split.net) == split.gross == eur(gross)
    if schedule.max_minor is not None:
        assert split.fee.minor <= schedule.max_minor
    assert split.fee.minor >= min(schedule.min_minor, gross)


@given(schedule=schedules, a=st.integers(0, 10**12), b=st.integers(0, 10**12))
def test_a_larger_release_never_pays_a_smaller_fee(schedule: FeeSchedule, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert schedule.fee_on(eur(low)).minor <= schedule.fee_on(eur(high)).minor


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"bps": -1}, "bps"),
        ({"bps": 10_001}, "bps"),
        ({"bps": True}, "bps"),
        ({"bps": 100, "min_minor": -1}, "min_minor"),
        ({"bps": 100, "min_minor": 10, "max_minor": 9}, "max_minor"),
    ],
)
def test_malformed_fee_schedules_are_refused(fields: dict[str, int], name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        FeeSchedule(**fields)
    assert refused.value.field == name


def test_the_tier_follows_the_providers_persona_and_falls_back_to_the_default() -> None:
    agency = FeeSchedule(bps=800)
    table = FeeTable({DEFAULT_TIER: FeeSchedule(bps=1_000, min_minor=50), "agency": agency})
    assert table.for_provider(frozenset({Persona.AGENCY})) == ("agency", agency)
    assert table.for_provider(frozenset({Persona.PROVIDER})) == (DEFAULT_TIER, table.tiers[DEFAULT_TIER])
    with pytest.raises(InvalidInput):
        FeeTable({"agency": agency})


@pytest.mark.parametrize(
    ("minor", "currency", "approvals"),
    [
        (99_999, "EUR", 0),
        (100_000, "EUR", 1),  # 1,000.00
        (999_999, "EUR", 1),
        (1_000_000, "EUR", 2),  # 10,000.00
        (999, "JPY", 0),
        (1_000, "JPY", 1),  # no minor unit: 1,000 yen
        (1_000_000, "KWD", 1),  # three decimals: 1,000.000
    ],
)
def test_payout_bands_scale_with_the_currency(minor: int, currency: str, approvals: int) -> None:
    assert PayoutBands().required_approvals(Money.of(minor, currency)) == approvals


def test_a_currency_may_have_its_own_bands_in_minor_units() -> None:
    bands = PayoutBands(minor={"USD": ((0, 1),)})
    assert bands.required_approvals(Money.of(1, "USD")) == 1
    assert bands.required_approvals(Money.of(1, "EUR")) == 0
