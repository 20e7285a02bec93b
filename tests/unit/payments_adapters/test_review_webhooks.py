"""Second review of the webhook verifiers: inputs that escaped as non-``WebhookRejected``
exceptions (a 500 from an unauthenticated request), and secrets that must never verify."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from adapters.payments.adyen_webhooks import AdyenWebhookVerifier
from adapters.payments.paypal_webhooks import SANDBOX_CERT_HOST, check_transmission
from adapters.payments.stripe_webhooks import StripeWebhookVerifier, verify_signature
from core.payments.domain import WebhookRejected

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HEX_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"


@pytest.mark.parametrize("field", ["pspReference", "merchantReference", "eventCode", "merchantAccountCode"])
def test_an_adyen_item_with_a_lone_surrogate_is_rejected_not_a_crash(field: str) -> None:
    # JSON may spell a lone UTF-16 surrogate ("\ud800"); Python decodes it into a str that
    # cannot be encoded as UTF-8, which the SDK's signing-string encode would raise on.
    item: dict[str, object] = {
        "pspReference": "8535296650153317",
        "merchantAccountCode": "GigcoreEU",
        "merchantReference": "pay_1",
        "amount": {"value": 1000, "currency": "EUR"},
        "eventCode": "AUTHORISATION",
        "success": "true",
        "eventDate": "2026-11-27T12:00:00+00:00",
        "additionalData": {"hmacSignature": "bm90IGEgc2lnbmF0dXJl"},
    }
    item[field] = "\ud800"
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}).encode()
    assert b"\\ud800" in body
    with pytest.raises(WebhookRejected):
        AdyenWebhookVerifier([HEX_KEY]).verify({}, body, NOW)


def test_an_adyen_currency_with_a_lone_surrogate_is_rejected_not_a_crash() -> None:
    item = {
        "pspReference": "8535296650153317",
        "amount": {"value": 1000, "currency": "\udfff"},
        "eventCode": "AUTHORISATION",
        "success": "true",
        "additionalData": {"hmacSignature": "x"},
    }
    body = json.dumps({"notificationItems": [{"NotificationRequestItem": item}]}).encode()
    with pytest.raises(WebhookRejected):
        AdyenWebhookVerifier([HEX_KEY]).verify({}, body, NOW)


def _paypal_headers(cert_url: str) -> dict[str, str]:
    return {
        "PAYPAL-TRANSMISSION-ID": "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
        "PAYPAL-TRANSMISSION-TIME": NOW.isoformat(),
        "PAYPAL-TRANSMISSION-SIG": "c2lnbmF0dXJl",
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }


@pytest.mark.parametrize("port", ["abc", "99999", "-1", "4 43"])
def test_a_paypal_cert_url_on_the_pinned_host_with_a_bad_port_is_rejected_not_a_crash(port: str) -> None:
    headers = _paypal_headers(f"https://{SANDBOX_CERT_HOST}:{port}/v1/notifications/certs/CERT-1")
    with pytest.raises(WebhookRejected):
        check_transmission(headers, NOW, cert_host=SANDBOX_CERT_HOST)


def test_the_pinned_paypal_cert_host_on_port_443_still_passes() -> None:
    headers = _paypal_headers(f"https://{SANDBOX_CERT_HOST}:443/v1/notifications/certs/CERT-1")
    assert check_transmission(headers, NOW, cert_host=SANDBOX_CERT_HOST)["PAYPAL-AUTH-ALGO"] == "SHA256withRSA"


def _stripe_header(body: bytes, secret: str, at: int) -> str:
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


@pytest.mark.parametrize("secrets", [("",), ("", "  "), ("  ",)])
def test_a_blank_stripe_secret_never_verifies_a_signature_made_with_an_empty_key(secrets: tuple[str, ...]) -> None:
    # Anyone can compute HMAC with an empty (or blank) key: such a configured "secret"
    # must count as no secret at all, not as one that forgeries match.
    body = b'{"id":"evt_forged","type":"payment_intent.succeeded"}'
    at = int(NOW.timestamp())
    for key in set(secrets):
        with pytest.raises(WebhookRejected):
            verify_signature(body, _stripe_header(body, key, at), secrets, now=at)
        with pytest.raises(WebhookRejected):
            StripeWebhookVerifier(list(secrets)).verify({"Stripe-Signature": _stripe_header(body, key, at)}, body, NOW)


def test_a_real_stripe_secret_next_to_a_blank_one_still_verifies() -> None:
    body = b'{"id":"evt_1"}'
    at = int(NOW.timestamp())
    assert verify_signature(body, _stripe_header(body, "whsec_real", at), ("", "whsec_real"), now=at) == at
