"""Stripe webhook verification (``Stripe-Signature``) and event normalisation.

The scheme (stripe-python ``_webhook.py``): header ``t=<unix>,v1=<hex>[,v1=<hex>…]``;
``HMAC-SHA256(secret, f"{t}.{raw body}")`` as hex; any one ``v1`` matching any one of our
secrets is enough (several of each during a rotation). Implemented here rather than with
``stripe.WebhookSignature.verify_header`` because the SDK's traps would need closing anyway:
its ``tolerance`` defaults to None (no age check at all), it never rejects timestamps from the
future, it takes one secret, and a body that is not UTF-8 raises UnicodeDecodeError instead of
its own error. Here the 300-second window is enforced both ways on every path, and every
failure is a ``WebhookRejected``. The tests check interoperability with the SDK's own
``generate_signature_header``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

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
from .minor_units import STRIPE

PROVIDER = "stripe"
TOLERANCE_SECONDS = 300
HEADER = "Stripe-Signature"
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_HEX_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")

_INTENT_KINDS = {
    "payment_intent.succeeded": ProviderEventKind.PAYMENT_CAPTURED,
    "payment_intent.payment_failed": ProviderEventKind.PAYMENT_FAILED,
    "payment_intent.canceled": ProviderEventKind.PAYMENT_FAILED,
    "payment_intent.processing": ProviderEventKind.PAYMENT_PROCESSING,
    "payment_intent.requires_action": ProviderEventKind.PAYMENT_REQUIRES_ACTION,
    "payment_intent.amount_capturable_updated": ProviderEventKind.PAYMENT_AUTHORIZED,
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
_PAYOUT_KINDS = {
    "transfer.created": ProviderEventKind.PAYOUT_PAID,
    "transfer.reversed": ProviderEventKind.PAYOUT_FAILED,
    "payout.paid": ProviderEventKind.PAYOUT_PAID,
    "payout.failed": ProviderEventKind.PAYOUT_FAILED,
}


def verify_signature(
    body: bytes, header: str | None, secrets: Sequence[str], *, now: int, tolerance: int = TOLERANCE_SECONDS
) -> int:
    """Check ``header`` against ``body`` with any of ``secrets``; returns the signed
    timestamp. Raises WebhookRejected (missing or malformed header, no secret configured, no
    matching signature, timestamp more than ``tolerance`` seconds from ``now`` either way)."""
    if not header:
        raise WebhookRejected("no Stripe-Signature header")
    # A blank secret is no secret: anyone can compute an HMAC keyed with "".
    secrets = [s for s in secrets if s.strip()]
    if not secrets:
        raise WebhookRejected("no Stripe webhook secret is configured")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.match(timestamps[0]):
        raise WebhookRejected("the Stripe-Signature header has no single valid timestamp")
    signed_at = int(timestamps[0])
    valid = [s for s in signatures if _HEX_SIGNATURE.match(s)]
    if not valid:
        raise WebhookRejected("the Stripe-Signature header has no v1 signature")
    signed = f"{signed_at}.".encode() + body
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        for candidate in valid:
            # no early exit: the time taken does not tell which secret or signature matched
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookRejected("no Stripe signature matches a configured secret")
    if abs(now - signed_at) > tolerance:
        raise WebhookRejected("the Stripe signature timestamp is outside the tolerance window")
    return signed_at


class StripeWebhookVerifier:
    """``WebhookVerifier`` for Stripe. ``secrets`` is a list (``GIGCORE_STRIPE_WEBHOOK_SECRETS``
    split on commas) or a callable read at every call, so a rotation needs no restart."""

    def __init__(self, secrets: Sequence[str] | p.SecretsSource, *, tolerance: int = TOLERANCE_SECONDS) -> None:
        self._secrets = p.source(secrets)
        self._tolerance = tolerance

    @property
    def provider(self) -> str:
        return PROVIDER

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[ProviderEvent]:
        verify_signature(
            body, p.header(headers, HEADER), self._secrets(), now=int(now.timestamp()), tolerance=self._tolerance
        )
        return [event_from(p.parse_object(body))]


def event_from(event: p.Json) -> ProviderEvent:
    """Normalise one (verified) Stripe event. Types we do not act on become OTHER."""
    event_id = p.text(event, "id")
    event_type = p.text(event, "type")
    occurred_at = p.epoch(event, "created")
    data = p.obj(p.obj(event, "data"), "object")
    if event_type in _INTENT_KINDS:
        return _intent_event(event_id, _INTENT_KINDS[event_type], data, occurred_at)
    if event_type in _REFUND_EVENTS:
        return _refund_event(event_id, data, occurred_at)
    if event_type == "charge.dispute.created":
        return _dispute_event(event_id, data, occurred_at)
    if event_type in _PAYOUT_KINDS:
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            kind=_PAYOUT_KINDS[event_type],
            provider_reference=p.text(data, "id"),
            occurred_at=occurred_at,
            amount=_money(p.integer(data, "amount"), data.get("currency")),
            reason=p.optional_text(data, "failure_message") or "",
        )
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        kind=ProviderEventKind.OTHER,
        provider_reference=None,
        occurred_at=occurred_at,
    )


def _money(amount: int, code: object) -> Money:
    """Stripe units to ISO minor units (``minor_units``: ISK differs), exactly."""
    checked = p.minor_money(amount, code)  # a known currency, not negative, in range
    try:
        return STRIPE.inbound(amount, checked.currency.code)
    except (ValueError, InvalidInput):
        raise WebhookRejected("the amount is not a whole number of minor units") from None


def _payment_id(data: p.Json) -> PaymentId | None:
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        return None
    value = p.optional_text(metadata, "payment_id")
    return PaymentId(value) if value else None


def _intent_event(event_id: str, kind: ProviderEventKind, intent: p.Json, occurred_at: datetime) -> ProviderEvent:
    reason = ""
    error = intent.get("last_payment_error")
    if isinstance(error, dict):
        reason = p.optional_text(error, "decline_code") or p.optional_text(error, "code") or "declined"
    elif kind is ProviderEventKind.PAYMENT_FAILED:
        reason = p.optional_text(intent, "cancellation_reason") or "failed"
    received = intent.get("amount_received")
    amount = received if kind is ProviderEventKind.PAYMENT_CAPTURED and isinstance(received, int) else None
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        kind=kind,
        provider_reference=p.text(intent, "id"),
        occurred_at=occurred_at,
        payment_id=_payment_id(intent),
        amount=_money(amount if amount is not None else p.integer(intent, "amount"), intent.get("currency")),
        reason=reason,
    )


def _refund_event(event_id: str, refund: p.Json, occurred_at: datetime) -> ProviderEvent:
    status = p.text(refund, "status")
    if status == "succeeded":
        kind = ProviderEventKind.PAYMENT_REFUNDED
    elif status in ("failed", "canceled"):
        kind = ProviderEventKind.REFUND_FAILED
    else:  # pending, requires_action: nothing final to act on
        kind = ProviderEventKind.OTHER
    metadata = refund.get("metadata")
    refund_id = p.optional_text(metadata, "refund_id") if isinstance(metadata, dict) else None
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        kind=kind,
        provider_reference=p.optional_text(refund, "payment_intent"),
        occurred_at=occurred_at,
        payment_id=_payment_id(refund),
        amount=_money(p.integer(refund, "amount"), refund.get("currency")),
        refund_reference=p.text(refund, "id"),
        refund_id=RefundId(refund_id) if refund_id else None,
        reason=p.optional_text(refund, "failure_reason") or "",
    )


def _dispute_event(event_id: str, dispute: p.Json, occurred_at: datetime) -> ProviderEvent:
    """A dispute names the disputed charge's PaymentIntent (the reference we keep)."""
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        kind=ProviderEventKind.CHARGEBACK,
        provider_reference=p.optional_text(dispute, "payment_intent"),
        occurred_at=occurred_at,
        payment_id=_payment_id(dispute),
        amount=_money(p.integer(dispute, "amount"), dispute.get("currency")),
        reason=p.optional_text(dispute, "reason") or "",
    )
