"""Money: an exact integer amount in a currency's minor unit. No float is accepted, ever.

See architecture/decisions/0002-money-representation.md.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from attrs import field, frozen

from core.shared.currencies import MINOR_UNIT_EXPONENTS
from core.shared.errors import DomainError, ErrorCategory, InvalidInput

_CODE = re.compile(r"^[A-Z]{3}$")

# Every adapter stores amounts and balances in 64-bit signed integers (BIGINT).
MAX_MINOR = 2**63 - 1
# One movement moves at most this much (10 trillion units of a two-decimal currency), so
# balances, which sum many movements, stay far inside MAX_MINOR.
MAX_MOVEMENT = 10**15


def _known_code(_inst: object, _attr: object, value: Any) -> None:
    if not isinstance(value, str) or not _CODE.match(value):
        raise InvalidInput("currency", f"{value!r} is not an ISO 4217 code (three capital letters)")
    if value not in MINOR_UNIT_EXPONENTS:
        raise InvalidInput("currency", f"{value!r} is not an active ISO 4217 currency")


@frozen(order=True)
class Currency:
    """An active ISO 4217 currency; ``exponent`` is the number of minor-unit digits."""

    code: str = field(validator=_known_code)

    @property
    def exponent(self) -> int:
        return MINOR_UNIT_EXPONENTS[self.code]

    def __str__(self) -> str:
        return self.code


@frozen
class CurrencyMismatch(DomainError):
    code: ClassVar[str] = "currency_mismatch"
    title: ClassVar[str] = "The currencies do not match"
    category: ClassVar[ErrorCategory] = ErrorCategory.RULE
    expected: str
    got: str

    @property
    def detail(self) -> str:
        return f"expected an amount in {self.expected}, got {self.got}"


def _exact_int(_inst: object, _attr: object, value: Any) -> None:
    # bool is an int subclass and float is never money: both are refused here, once.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("amount", f"must be an integer number of minor units, not {type(value).__name__}")
    if abs(value) > MAX_MINOR:
        raise InvalidInput("amount", f"must be at most {MAX_MINOR} minor units in magnitude (64 bits)")


@frozen
class Money:
    """An exact amount in the currency's minor unit (cents, pence, yen). Never a float.

    ``==`` is plain value equality; arithmetic is strict and raises CurrencyMismatch.
    """

    minor: int = field(validator=_exact_int)
    currency: Currency

    @classmethod
    def of(cls, minor: int, currency: str | Currency) -> Money:
        return cls(minor, currency if isinstance(currency, Currency) else Currency(currency))

    @classmethod
    def zero(cls, currency: Currency) -> Money:
        return cls(0, currency)

    @classmethod
    def parse_decimal(cls, text: str, currency: Currency) -> Money:
        """Parse a decimal string such as ``"10.50"`` exactly; more digits than the
        currency has is an error, never a rounding."""
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise InvalidInput("amount", f"{text!r} is not a decimal number") from None
        if not value.is_finite():
            raise InvalidInput("amount", f"{text!r} is not a finite number")
        scaled = value.scaleb(currency.exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidInput(
                "amount", f"{text!r} has more than {currency.exponent} decimal places for {currency.code}"
            )
        return cls(int(scaled), currency)

    def plus(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def minus(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def negated(self) -> Money:
        return Money(-self.minor, self.currency)

    def exceeds(self, other: Money) -> bool:
        self._same_currency(other)
        return self.minor > other.minor

    @property
    def is_positive(self) -> bool:
        return self.minor > 0

    @property
    def is_negative(self) -> bool:
        return self.minor < 0

    def to_decimal_string(self) -> str:
        """The amount in major units, exact (``1050`` EUR -> ``"10.50"``)."""
        return str(Decimal(self.minor).scaleb(-self.currency.exponent))

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency.code, other.currency.code)

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency.code}"
