"""PayPal webhook verification and event normalisation.

PayPal signs with its private key (SHA256withRSA over ``transmission_id|transmission_time|
webhook_id|crc32(body)``), checked against the certificate at ``PAYPAL-CERT-URL``; there is no
shared secret and no built-in replay window. We use the postback instead of checking the
certificate ourselves: ``POST /v1/notifications/verify-webhook-signature`` with the
transmission headers, our ``webhook_id`` and the event, answered
``{"verification_status": "SUCCESS"}``. Before asking, we close what the scheme leaves open:

- the transmission time must be within ``window_seconds`` of now (replays of old
  deliveries are refused; a replay inside the window is caught by the inbox's dedupe);
- ``PAYPAL-CERT-URL`` must be ``https://`` on the pinned PayPal host of this environment
  (api.paypal.com live, api.sandbox.paypal.com sandbox). We never fetch it, but PayPal's
  answer is only as good as the cert it was asked about;
- the auth algorithm must be SHA256withRSA.

The event goes to PayPal spliced in as the raw bytes we received (after checking they are a
JSON object), not re-serialised: re-encoding can change the bytes PayPal checks.

Several webhook ids may be configured during a rotation (a new webhook registered next to
the old one); any one PayPal confirms is enough. If PayPal cannot be asked (outage), the
delivery is rejected with a reason saying so, and PayPal delivers it again later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from core.payments.domain import (
    PaymentId,
    ProviderEvent,
    ProviderEventKind,
    RefundId,
    WebhookRejected,
)
from core.shared.gateways import GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Money

from . import payload as p
from .paypal_rest import PayPalRest, json_of

PROVIDER = "paypal"
WINDOW_SECONDS = 300
LIVE_CERT_HOST = "api.paypal.com"
SANDBOX_CERT_HOST = "api.sandbox.paypal.com"
AUTH_ALGO = "SHA256withRSA"
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"

_HEADERS = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)

_CAPTURE_KINDS = {
    "PAYMENT.CAPTURE.COMPLETED": ProviderEventKind.PAYMENT_CAPTURED,
    "PAYMENT.CAPTURE.DENIED": ProviderEventKind.PAYMENT_FAILED,
    "PAYMENT.CAPTURE.DECLINED": ProviderEventKind.PAYMENT_FAILED,
    "PAYMENT.CAPTURE.PENDING": ProviderEventKind.PAYMENT_PROCESSING,
}
_PAYOUT_KINDS = {
    "PAYMENT.PAYOUTS-ITEM.SUCCEEDED": ProviderEventKind.PAYOUT_PAID,
    "PAYMENT.PAYOUTS-ITEM.FAILED": ProviderEventKind.PAYOUT_FAILED,
    "PAYMENT.PAYOUTS-ITEM.BLOCKED": ProviderEventKind.PAYOUT_FAILED,
    "PAYMENT.PAYOUTS-ITEM.DENIED": ProviderEventKind.PAYOUT_FAILED,
    "PAYMENT.PAYOUTS-ITEM.RETURNED": ProviderEventKind.PAYOUT_FAILED,
    "PAYMENT.PAYOUTS-ITEM.CANCELED": ProviderEventKind.PAYOUT_FAILED,
}


def check_transmission(
    headers: Mapping[str, str], now: datetime, *, cert_host: str, window_seconds: int = WINDOW_SECONDS
) -> dict[str, str]:
    """The five transmission headers, checked locally (window, pinned cert host,
    algorithm). Raises WebhookRejected."""
    values: dict[str, str] = {}
    for name in _HEADERS:
        value = p.header(headers, name)
        if not value or len(value) > 4096:
            raise WebhookRejected(f"no {name} header")
        values[name] = value
    sent_at = p.iso_time({"t": values["PAYPAL-TRANSMISSION-TIME"]}, "t")
    if abs((now - sent_at).total_seconds()) > window_seconds:
        raise WebhookRejected("the PayPal transmission time is outside the window")
    try:
        cert = urlsplit(values["PAYPAL-CERT-URL"])
        host, port = cert.hostname, cert.port  # ``port`` raises ValueError for "abc", 99999, -1
    except ValueError:
        raise WebhookRejected("PAYPAL-CERT-URL is not a URL") from None
    if cert.scheme != "https" or host != cert_host or port not in (None, 443) or cert.username:
        raise WebhookRejected("PAYPAL-CERT-URL is not on PayPal's certificate host")
    if values["PAYPAL-AUTH-ALGO"] != AUTH_ALGO:
        raise WebhookRejected("PAYPAL-AUTH-ALGO is not SHA256withRSA")
    return values


class PayPalWebhookVerifier:
    """``WebhookVerifier`` for PayPal. ``webhook_ids``: ``GIGCORE_PAYPAL_WEBHOOK_ID`` (comma-
    separated during a rotation) or a callable read at every call."""

    def __init__(
        self,
        rest: PayPalRest,
        webhook_ids: Sequence[str] | p.SecretsSource,
        *,
        sandbox: bool,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self._rest = rest
        self._webhook_ids = p.source(webhook_ids)
        self._cert_host = SANDBOX_CERT_HOST if sandbox else LIVE_CERT_HOST
        self._window = window_seconds

    @property
    def provider(self) -> str:
        return PROVIDER

    def verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[ProviderEvent]:
        transmission = check_transmission(headers, now, cert_host=self._cert_host, window_seconds=self._window)
        event = p.parse_object(body)
        webhook_ids = tuple(self._webhook_ids())
        if not webhook_ids:
            raise WebhookRejected("no PayPal webhook id is configured")
        if not any(self._confirmed(transmission, webhook_id, body) for webhook_id in webhook_ids):
            raise WebhookRejected("PayPal did not confirm the signature")
        return [event_from(event)]

    def _confirmed(self, transmission: Mapping[str, str], webhook_id: str, body: bytes) -> bool:
        fields = {
            "auth_algo": transmission["PAYPAL-AUTH-ALGO"],
            "cert_url": transmission["PAYPAL-CERT-URL"],
            "transmission_id": transmission["PAYPAL-TRANSMISSION-ID"],
            "transmission_sig": transmission["PAYPAL-TRANSMISSION-SIG"],
            "transmission_time": transmission["PAYPAL-TRANSMISSION-TIME"],
            "webhook_id": webhook_id,
        }
        # the received bytes go in verbatim (they are a JSON object: checked by the caller)
        raw = json.dumps(fields).encode()[:-1] + b', "webhook_event": ' + body.strip() + b"}"
        try:
            response = self._rest.call("POST", VERIFY_PATH, raw_json=raw, safe_to_retry=True)
        except (GatewayUnavailable, GatewayOutcomeUnknown):
            raise WebhookRejected("PayPal could not be asked to verify the signature now; it will redeliver") from None
        if response.status_code != 200:
            return False  # PayPal refused the request itself (e.g. a malformed signature field)
        return json_of(response).get("verification_status") == "SUCCESS"


def event_from(event: p.Json) -> ProviderEvent:
    """Normalise one (verified) PayPal event; types we do not act on become OTHER."""
    event_id = p.text(event, "id")
    event_type = p.text(event, "event_type")
    occurred_at = p.iso_time(event, "create_time")
    resource = p.obj(event, "resource")
    if event_type in _CAPTURE_KINDS:
        related = resource.get("supplementary_data")
        related_ids = related.get("related_ids") if isinstance(related, dict) else None
        order_id = p.optional_text(related_ids, "order_id") if isinstance(related_ids, dict) else None
        custom_id = p.optional_text(resource, "custom_id")
        kind = _CAPTURE_KINDS[event_type]
        status_details = resource.get("status_details")
        reason = p.optional_text(status_details, "reason") if isinstance(status_details, dict) else None
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            kind=kind,
            provider_reference=order_id,
            occurred_at=occurred_at,
            payment_id=PaymentId(custom_id) if custom_id else None,
            amount=_amount(resource),
            reason=(reason or "declined") if kind is ProviderEventKind.PAYMENT_FAILED else "",
            capture_reference=p.optional_text(resource, "id"),  # the resource is the capture
        )
    if event_type in (
        "PAYMENT.CAPTURE.REFUNDED",
        "PAYMENT.REFUND.COMPLETED",
        "PAYMENT.REFUND.FAILED",
        "PAYMENT.REFUND.DENIED",
    ):
        completed = event_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.REFUND.COMPLETED")
        custom_id = p.optional_text(resource, "custom_id")
        invoice_id = p.optional_text(resource, "invoice_id")
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            kind=ProviderEventKind.PAYMENT_REFUNDED if completed else ProviderEventKind.REFUND_FAILED,
            provider_reference=None,  # a refund names its capture, not the order we know the payment by
            occurred_at=occurred_at,
            payment_id=PaymentId(custom_id) if custom_id else None,
            amount=_amount(resource),
            refund_reference=p.text(resource, "id"),
            refund_id=RefundId(invoice_id) if invoice_id else None,
            # Refunds made in PayPal's dashboard echo none of our ids: the capture names the payment.
            capture_reference=_refunded_capture(resource),
        )
    if event_type == "CUSTOMER.DISPUTE.CREATED":
        return _dispute_event(event_id, resource, occurred_at)
    if event_type == "PAYMENT.CAPTURE.REVERSED":
        # The capture reversed (a chargeback): a capture- or refund-shaped resource, its
        # amount sometimes negative; our id echoed as ``custom_id``.
        custom_id = p.optional_text(resource, "custom_id")
        related = resource.get("supplementary_data")
        related_ids = related.get("related_ids") if isinstance(related, dict) else None
        order_id = p.optional_text(related_ids, "order_id") if isinstance(related_ids, dict) else None
        status_details = resource.get("status_details")
        reason = p.optional_text(status_details, "reason") if isinstance(status_details, dict) else None
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            kind=ProviderEventKind.CHARGEBACK,
            provider_reference=order_id,
            occurred_at=occurred_at,
            payment_id=PaymentId(custom_id) if custom_id else None,
            amount=_amount(resource, unsigned=True),
            reason=reason or "capture reversed",
        )
    if event_type in _PAYOUT_KINDS:
        item = resource.get("payout_item")
        amount = _amount(item, key="amount", code_key="currency") if isinstance(item, dict) else None
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            kind=_PAYOUT_KINDS[event_type],
            provider_reference=p.optional_text(resource, "payout_batch_id"),
            occurred_at=occurred_at,
            amount=amount,
            reason=p.optional_text(resource, "transaction_status") or "",
        )
    if event_type == "CHECKOUT.ORDER.APPROVED":
        # The payer approved the order: it is ours to capture (the payment becomes
        # AUTHORIZED and its ``payments.capture`` timer captures it).
        return ProviderEvent(
            provider=PROVIDER,
            provider_event_id=event_id,
            kind=ProviderEventKind.PAYMENT_AUTHORIZED,
            provider_reference=p.text(resource, "id"),
            occurred_at=occurred_at,
        )
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        kind=ProviderEventKind.OTHER,
        provider_reference=None,
        occurred_at=occurred_at,
    )


_CAPTURE_LINK = re.compile(r"/v2/payments/captures/([A-Za-z0-9_-]{1,64})/?$")


def _refunded_capture(refund: p.Json) -> str | None:
    """The capture a refund resource names: its ``links`` entry with rel "up" points at
    ``…/v2/payments/captures/<capture id>``. None when there is no such link."""
    links = refund.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "up" and isinstance(link.get("href"), str):
            try:
                path = urlsplit(link["href"]).path
            except ValueError:  # not a URL ("http://[" …): no capture named
                continue
            found = _CAPTURE_LINK.search(path)
            if found:
                return found.group(1)
    return None


def _amount(parent: p.Json, *, key: str = "amount", code_key: str = "currency_code", unsigned: bool = False) -> Money:
    amount = p.obj(parent, key)
    value = amount.get("value")
    if unsigned and isinstance(value, str) and value.startswith("-"):
        value = value[1:]  # a reversal's amount, given as a debit
    return p.decimal_money(value, amount.get(code_key))


def _dispute_event(event_id: str, dispute: p.Json, occurred_at: datetime) -> ProviderEvent:
    """A dispute names the disputed capture (``seller_transaction_id``) and, when the
    capture carried it, our payment id (``custom``)."""
    transactions = dispute.get("disputed_transactions")
    first = transactions[0] if isinstance(transactions, list) and transactions else None
    custom = p.optional_text(first, "custom") if isinstance(first, dict) else None
    capture = p.optional_text(first, "seller_transaction_id") if isinstance(first, dict) else None
    return ProviderEvent(
        provider=PROVIDER,
        provider_event_id=event_id,
        kind=ProviderEventKind.CHARGEBACK,
        provider_reference=capture,  # names the capture: the payment is found by ``custom``
        occurred_at=occurred_at,
        payment_id=PaymentId(custom) if custom else None,
        amount=_amount(dispute, key="dispute_amount"),
        reason=p.optional_text(dispute, "reason") or "",
    )
