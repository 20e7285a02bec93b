from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.shared.currencies import MINOR_UNIT_EXPONENTS
from core.shared.errors import InvalidInput
from core.shared.money import MAX_MINOR, Currency, CurrencyMismatch, Money

amounts = st.integers(min_value=-(10**15), max_value=10**15)
codes = st.sampled_from(sorted(MINOR_UNIT_EXPONENTS))


@given(a=amounts, b=amounts, code=codes)
def test_plus_then_minus_returns_the_original_amount(a: int, b: int, code: str) -> None:
    x, y = Money.of(a, code), Money.of(b, code)
    assert x.plus(y).minus(y) == x


@given(a=amounts, b=amounts, code=codes)
def test_addition_is_commutative_and_exact(a: int, b: int, code: str) -> None:
    assert Money.of(a, code).plus(Money.of(b, code)) == Money.of(b, code).plus(Money.of(a, code))
    assert Money.of(a, code).plus(Money.of(b, code)).minor == a + b


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_never_money(value: float) -> None:
    with pytest.raises(InvalidInput):
        Money(value, Currency("EUR"))  # type: ignore[arg-type]


def test_a_bool_is_not_an_amount() -> None:
    with pytest.raises(InvalidInput):
        Money(True, Currency("EUR"))  # type: ignore[arg-type]


def test_amounts_beyond_64_bits_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Money(MAX_MINOR + 1, Currency("EUR"))
    assert Money(-MAX_MINOR, Currency("EUR")).minor == -MAX_MINOR


def test_one_posting_moves_at_most_max_movement() -> None:
    from core.ledger.domain import Posting
    from core.shared.ids import AccountId
    from core.shared.money import MAX_MOVEMENT

    Posting(AccountId("a"), Money(MAX_MOVEMENT, Currency("EUR")))
    with pytest.raises(InvalidInput):
        Posting(AccountId("a"), Money(MAX_MOVEMENT + 1, Currency("EUR")))


def test_arithmetic_across_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.of(1, "EUR").plus(Money.of(1, "USD"))


def test_equality_across_currencies_is_false_not_an_error() -> None:
    assert Money.of(1, "EUR") != Money.of(1, "USD")
    assert Money.of(1, "EUR") in {Money.of(1, "USD"), Money.of(1, "EUR")}


@pytest.mark.parametrize("code", ["eur", "EURO", "XYZ", "", "XTS"])
def test_unknown_or_malformed_currency_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput):
        Currency(code)


def test_currency_knows_its_exponent() -> None:
    assert (Currency("EUR").exponent, Currency("JPY").exponent, Currency("KWD").exponent) == (2, 0, 3)


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [("10.50", "EUR", 1050), ("10.5", "EUR", 1050), ("7", "JPY", 7), ("1.234", "KWD", 1234), ("-0.01", "USD", -1)],
)
def test_decimal_strings_parse_exactly(text: str, code: str, minor: int) -> None:
    assert Money.parse_decimal(text, Currency(code)) == Money.of(minor, code)


@pytest.mark.parametrize(("text", "code"), [("10.505", "EUR"), ("1.5", "JPY"), ("abc", "EUR"), ("NaN", "EUR")])
def test_decimal_strings_with_too_many_places_or_garbage_are_refused(text: str, code: str) -> None:
    with pytest.raises(InvalidInput):
        Money.parse_decimal(text, Currency(code))


@given(minor=amounts, code=codes)
def test_decimal_string_round_trips(minor: int, code: str) -> None:
    money = Money.of(minor, code)
    assert Money.parse_decimal(money.to_decimal_string(), money.currency) == money
