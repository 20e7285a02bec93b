"""Payout destinations: where a provider pays a payee (issue 5).

Escrow names a payee by user id; a provider pays an account of its own: a Stripe
connected account (``acct_…``), an Adyen transfer instrument or balance account, a PayPal
receiver (an email, or a PayPal payer id, stored as ``PAYPAL_ID:<id>``, the form the
PayPal gateway sends as ``recipient_type`` PAYPAL_ID). A payee registers one destination
per provider; a provider can only pay a payee who did. Values are checked against each
provider's format here, so a typo is refused at registration, not at payout time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from attrs import frozen

from core.shared.errors import InvalidInput
from core.shared.events import DomainEvent
from core.shared.ids import UserId

MAX_DESTINATION = 254  # an email's longest; provider ids are far shorter

_STRIPE = re.compile(r"acct_[A-Za-z0-9]{1,250}")
# Adyen's balance platform ids: two uppercase letters (BA: balance account, SE or TI:
# transfer instrument) and 14 or more uppercase letters and digits.
_ADYEN = re.compile(r"[A-Z]{2}[A-Z0-9]{14,62}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")
_PAYPAL_ID = re.compile(r"[A-Z0-9]{13}")  # a PayPal payer (account) id
PAYPAL_ID_PREFIX = "PAYPAL_ID:"


class DestinationActions:
    """The actions of payout destinations, as named in the authorisation policy."""

    REGISTER = "payments.payout_destination.register"  # a payee: their own
    READ = "payments.payout_destination.read"  # their own
    READ_ANY = "payments.payout_destination.read_any"  # support, finance, admin

    ALL: ClassVar[frozenset[str]] = frozenset({REGISTER, READ, READ_ANY})


def _stripe(value: str) -> str:
    if not _STRIPE.fullmatch(value):
        raise InvalidInput("destination", "a Stripe connected account id: acct_ followed by letters and digits")
    return value


def _adyen(value: str) -> str:
    if not _ADYEN.fullmatch(value):
        raise InvalidInput(
            "destination", "an Adyen transfer instrument or balance account id (16-64 uppercase letters and digits)"
        )
    return value


def _paypal(value: str) -> str:
    payer_id = value.removeprefix(PAYPAL_ID_PREFIX)
    if _PAYPAL_ID.fullmatch(payer_id):
        return PAYPAL_ID_PREFIX + payer_id
    if value == payer_id and _EMAIL.fullmatch(value):
        return value
    raise InvalidInput("destination", "a PayPal receiver: an email address or a 13-character PayPal payer id")


# Each provider's check; it returns the value as stored (normalised).
FORMATS: Mapping[str, Callable[[str], str]] = MappingProxyType({"stripe": _stripe, "adyen": _adyen, "paypal": _paypal})


def valid_destination(provider: str, value: object) -> str:
    """``value`` as stored for ``provider``. Raises InvalidInput (unknown provider, a value
    not in the provider's format)."""
    check = FORMATS.get(provider) if isinstance(provider, str) else None
    if check is None:
        raise InvalidInput("provider", f"one of {', '.join(sorted(FORMATS))}")
    if not isinstance(value, str) or not value or len(value) > MAX_DESTINATION or value != value.strip():
        raise InvalidInput("destination", f"1-{MAX_DESTINATION} characters, without surrounding spaces")
    return check(value)


def masked(value: str) -> str:
    """The destination as audit records and logs show it: enough to recognise it, not the
    whole (a PayPal receiver may be an email address)."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{value[:-4]}****" if len(value) > 8 else "****"


@frozen(kw_only=True)
class PayoutDestination:
    """A payee's destination at one provider; ``value`` is already valid for it."""

    payee_id: UserId
    provider: str
    value: str
    created_at: datetime
    updated_at: datetime


@frozen(kw_only=True)
class PinnedPayoutDestination:
    """The destination the first attempt of a payout used, kept for every retry of it: the
    retry resends the same idempotency key, so it must send the same body, even when the
    payee registered another destination in between (a provider would refuse the key's
    reuse with another body, or, without that check, pay twice)."""

    payout_id: str
    payee_id: UserId
    provider: str
    value: str
    pinned_at: datetime


@frozen(kw_only=True)
class PayoutDestinationRegistered(DomainEvent):
    """A payee registered (or replaced) their destination at a provider. The value itself
    is not in the event (it may be an email address)."""

    name: ClassVar[str] = "payments.payout_destination_registered"
    payee_id: str
    provider: str
    replaced: bool
