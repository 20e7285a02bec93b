"""Reading untrusted JSON webhook bodies field by field.

Every accessor raises ``WebhookRejected`` naming the field, so a malformed (or fuzzed) body
is a 400, never a KeyError or TypeError that would surface as a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.payments.domain import WebhookRejected
from core.shared.errors import InvalidInput
from core.shared.money import Currency, Money

Json = Mapping[str, Any]


def parse_object(body: bytes) -> Json:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookRejected("the body is not JSON") from None
    if not isinstance(value, dict):
        raise WebhookRejected("the body is not a JSON object")
    return value


def obj(parent: Json, key: str) -> Json:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise WebhookRejected(f"{key!r} is missing or not an object")
    return value


def text(parent: Json, key: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise WebhookRejected(f"{key!r} is missing or not a string")
    return value


def optional_text(parent: Json, key: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise WebhookRejected(f"{key!r} is not a string")
    return value


def integer(parent: Json, key: str) -> int:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookRejected(f"{key!r} is missing or not an integer")
    return value


def currency(code: object) -> Currency:
    if not isinstance(code, str):
        raise WebhookRejected("the currency is missing")
    try:
        return Currency(code.upper())
    except InvalidInput:
        raise WebhookRejected(f"{code[:8]!r} is not a currency we know") from None


def minor_money(minor: int, code: object) -> Money:
    """An amount the provider gives in minor units already (Stripe, Adyen)."""
    if minor < 0:
        raise WebhookRejected("a negative amount")
    try:
        return Money(minor, currency(code))
    except InvalidInput:
        raise WebhookRejected("the amount is out of range") from None


def decimal_money(value: object, code: object) -> Money:
    """An amount the provider gives as a decimal string in major units (PayPal): parsed
    exactly with the currency's exponent, never through a float."""
    if not isinstance(value, str) or len(value) > 32:
        raise WebhookRejected("the amount is not a decimal string")
    try:
        money = Money.parse_decimal(value, currency(code))
    except InvalidInput:
        raise WebhookRejected("the amount is not an exact decimal in its currency") from None
    if money.minor < 0:
        raise WebhookRejected("a negative amount")
    return money


def epoch(parent: Json, key: str) -> datetime:
    seconds = integer(parent, key)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookRejected(f"{key!r} is not a time") from None


def iso_time(parent: Json, key: str) -> datetime:
    raw = text(parent, key)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise WebhookRejected(f"{key!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise WebhookRejected(f"{key!r} has no time zone")
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise WebhookRejected(f"{key!r} is out of range") from None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (the first if repeated)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def secrets_list(raw: str | None) -> tuple[str, ...]:
    """``a,b`` -> ("a", "b"): the comma-separated form of every rotating secret."""
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


SecretsSource = Callable[[], Sequence[str]]


def source(secrets: Sequence[str] | SecretsSource) -> SecretsSource:
    """A fixed list, or a callable read at every verification (rotation without restart)."""
    if callable(secrets):
        return secrets
    fixed = tuple(secrets)
    return lambda: fixed
