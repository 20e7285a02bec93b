"""Adyen standard webhook verification (HMAC in each item) and event normalisation.

The scheme (``Adyen/util.py`` ``generate_notification_sig``; docs.adyen.com "verify HMAC
signatures"): for each ``NotificationRequestItem``, join ``pspReference``,
``originalReference``, ``merchantAccountCode``, ``merchantReference``, ``amount.value``,
``amount.currency``, ``eventCode`` and ``success`` with ``:`` (a missing field as ``""``),
HMAC-SHA256 keyed with the hex-decoded key, base64, compared in constant time with
``additionalData.hmacSignature``.

The SDK's ``is_valid_hmac_notification`` is not used: given a batch it checks only item 0,
and it returns None when ``additionalData`` is missing. Here **every** item must verify
against one of the configured keys (several during a rotation), or the whole batch is
rejected and nothing of it is stored. The signing string is built with the SDK's own
``generate_notification_sig`` so the byte layout stays Adyen's.

Adyen batches carry no timestamp in the signature, so there is no replay window here: a
replayed item is caught by the inbox's dedupe on (pspReference, eventCode, success).
The HTTP route must answer ``[accepted]`` on success (Adyen retries anything else).
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from Adyen.util import generate_notification_sig

from core.payments.domain import (
    PaymentId,
    ProviderEvent,
    ProviderEventKind,
    RefundId,
    WebhookRejected,
)
from core.shared.errors import InvalidInput
from core.shared.money import Money

from . import payload as p
from .minor_units import ADYEN

PROVIDER = "adyen"
MAX_ITEMS = 1000  # Adyen sends up to a few hundred per batch; more is not Adyen

_PAYOUT_SUCCESS = frozenset({"PAYOUT_THIRDPARTY"})
_PAYOUT_FAILED = frozenset({"PAYOUT_DECLINE", "PAYOUT_EXPIRE", "PAIDOUT_REVERSED"})


def is_hex_key(key: str) -> bool:
    try:
        return len(binascii.a2b_hex(key)) > 0
    except (binascii.Error, ValueError):
        return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _signable(item: p.Json) -> dict[str, object]:
    """The item as ``generate_notification_sig`` reads it, after checking the types Adyen
    sends (strings, an integer value) so ``str()`` in the SDK cannot be fooled."""
    amount = p.obj(item, "amount")
    value = amount.get("value")
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookRejected("amount.value is not an integer")
    code = amount.get("currency")
    if not isinstance(code, str) or not _encodable(code):
        raise WebhookRejected("amount.currency is not a string")
    signable: dict[str, object] = {"amount": {"value": value, "currency": code}}
    for name in ("pspReference", "originalReference", "merchantAccountCode", "merchantReference", "eventCode"):
        field = item.get(name, "")
        # JSON can spell a lone surrogate ("\ud800"): such a str has no UTF-8 form, and the
        # SDK's encode of the signing string would raise (a 500 before any signature check).
        if not isinstance(field, str) or not _encodable(field):
            raise WebhookRejected(f"{name!r} is not a string")
        signable[name] = field
    success = item.get("success")
    if success not in ("true", "false"):
        raise WebhookRejected('\'success\' is not "true" or "false"')
    signable["success"] = success
    return signable


def verify_item(item: p.Json, hex_keys: Sequence[str]) -> None:
    """Raise WebhookRejected unless ``item``'s hmacSignature matches one of ``hex_keys``."""
    additional = item.get("additionalData")
    signature = additional.get("hmacSignature") if isinstance(additional, dict) else None
    if not isinstance(signature, str) or not signature:
        raise WebhookRejected("a notification item has no hmacSignature")
    signable = _signable(item)
    matched = False
    for key in hex_keys:
        expected = generate_notification_sig(signable, key).decode("ascii")
        matched |= hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
    if not matched:
        raise WebhookRejected("a notification item's HMAC signature does not match a configured key")


class AdyenWebhookVerifier:
    """``WebhookVerifier`` for Adyen standard webhooks. ``hmac_keys``: hex keys
    (``GIGCORE_ADYEN_HMAC_KEYS`` split on commas) or a callable read at every call.

    ``captured_on_authorisation``: with automatic immediate capture (how ``AdyenGateway``
    charges), Adyen sends no CAPTURE webhook, so a successful AUTHORISATION is the capture.
    Set False for merchant accounts with delayed or manual capture.
    """

    def __init__(
        self,
        hmac_keys: Sequence[str] | p.SecretsSource,
        *,
        merchant_account: str | None = None,
        captured_on_authorisation: bool = True,
    ) -> None:
        if not callable(hmac_keys) and not all(is_hex_key(k) for k in hmac_keys):
            raise ValueError("an Adyen HMAC key is not hexadecimal")
        self._keys = p.source(hmac_keys)
        self._merchant_account = merchant_account
        self._captured_on_authorisation = captured_on_authorisation

    @property
    def provider(self) -> str:
        return PROVIDER

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[ProviderEvent]:
        keys = tuple(k for k in self._keys() if is_hex_key(k))  # a bad rotated-in key must not 500
        if not keys:
            raise WebhookRejected("no valid Adyen HMAC key is configured")
        document = p.parse_object(body)
        wrapped = document.get("notificationItems")
        if not isinstance(wrapped, list) or not wrapped:
            raise WebhookRejected("'notificationItems' is missing or empty")
        if len(wrapped) > MAX_ITEMS:
            raise WebhookRejected("too many notification items")
        items = [p.obj(w, "NotificationRequestItem") if isinstance(w, dict) else _not_an_item() for w in wrapped]
        for item in items:  # all of them first: one bad item rejects the whole batch
            verify_item(item, keys)
            if self._merchant_account and item.get("merchantAccountCode") != self._merchant_account:
                raise WebhookRejected("a notification item is for another merchant account")
        return [self._event(item) for item in items]

    def _event(self, item: p.Json) -> ProviderEvent:
        psp = p.text(item, "pspReference")
        code = p.text(item, "eventCode")
        success = item.get("success") == "true"
        amount = p.obj(item, "amount")
        reference = p.optional_text(item, "merchantReference")
        original = p.optional_text(item, "originalReference")
        payment_id: PaymentId | None = None
        refund_id: RefundId | None = None
        refund_reference: str | None = None
        provider_reference: str | None = psp
        if code == "AUTHORISATION":
            if not success:
                kind = ProviderEventKind.PAYMENT_FAILED
            elif self._captured_on_authorisation:
                kind = ProviderEventKind.PAYMENT_CAPTURED
            else:
                kind = ProviderEventKind.PAYMENT_AUTHORIZED
            payment_id = PaymentId(reference) if reference else None
        elif code in ("CAPTURE", "CAPTURE_FAILED"):
            kind = ProviderEventKind.PAYMENT_CAPTURED if code == "CAPTURE" and success else ProviderEventKind.OTHER
            provider_reference = original or psp
        elif code in ("REFUND", "REFUND_FAILED", "REFUNDED_REVERSED"):
            refunded = code == "REFUND" and success
            kind = ProviderEventKind.PAYMENT_REFUNDED if refunded else ProviderEventKind.REFUND_FAILED
            provider_reference, refund_reference = original, psp
            refund_id = RefundId(reference) if reference else None
        elif code in ("CHARGEBACK", "SECOND_CHARGEBACK") and success:
            kind = ProviderEventKind.CHARGEBACK  # the disputed payment: ``originalReference`` when given
            provider_reference = original or psp
            payment_id = PaymentId(reference) if reference else None
        elif code in _PAYOUT_SUCCESS or code in _PAYOUT_FAILED:
            paid = code in _PAYOUT_SUCCESS and success
            kind = ProviderEventKind.PAYOUT_PAID if paid else ProviderEventKind.PAYOUT_FAILED
        else:
            kind = ProviderEventKind.OTHER
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=f"{psp}:{code}:{'true' if success else 'false'}",
            kind=kind,
            provider_reference=provider_reference,
            occurred_at=p.iso_time(item, "eventDate"),
            payment_id=payment_id,
            amount=_money(p.integer(amount, "value"), amount.get("currency")),
            refund_reference=refund_reference,
            refund_id=refund_id,
            reason="" if success else (p.optional_text(item, "reason") or code.lower()),
        )


def _money(value: int, code: object) -> Money:
    """Adyen units to ISO minor units (``minor_units``: CLP, CVE, IDR, ISK differ), exactly."""
    checked = p.minor_money(value, code)
    try:
        return ADYEN.inbound(value, checked.currency.code)
    except (ValueError, InvalidInput):
        raise WebhookRejected("the amount is not a whole number of minor units") from None


def _not_an_item() -> p.Json:
    raise WebhookRejected("a notification item is not an object")
