"""Fuzzing the three webhook routes: whatever the body and headers, the answer is a 2xx or
a 4xx, never a 500; a delivery nobody signed with our secrets stores nothing. Deliveries
signed with the right secret but with random content are also answered 2xx/4xx."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.providers.adyen import MERCHANT_ACCOUNT, TEST_HMAC_KEY, sign_item
from tests.fakes.providers.stripe import TEST_WEBHOOK_SECRET, sign

from .conftest import PaymentsApi

EXAMPLES = int(os.environ.get("GIGCORE_HYPOTHESIS_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PROVIDERS = st.sampled_from(["stripe", "adyen", "paypal"])
ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
any_text = st.text(max_size=40)
numbers = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True, allow_infinity=True))
scalars = st.one_of(st.none(), st.booleans(), numbers, any_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)),
    max_leaves=12,
)
maybe = st.one_of(scalars, json_values)

STRIPE_TYPES = st.one_of(
    st.sampled_from(
        [
            "payment_intent.succeeded",
            "payment_intent.payment_failed",
            "payment_intent.processing",
            "refund.updated",
            "charge.refund.updated",
            "transfer.created",
            "payout.paid",
        ]
    ),
    any_text,
)
stripe_events = st.fixed_dictionaries(
    {
        "id": st.one_of(any_text, maybe),
        "type": STRIPE_TYPES,
        "created": st.one_of(st.integers(min_value=-(10**20), max_value=10**20), maybe),
        "data": st.one_of(
            st.fixed_dictionaries(
                {
                    "object": st.fixed_dictionaries(
                        {
                            "id": maybe,
                            "amount": maybe,
                            "currency": st.one_of(st.sampled_from(["eur", "usd", "jpy", "xxx", ""]), maybe),
                            "status": maybe,
                            "metadata": st.one_of(st.dictionaries(any_text, maybe, max_size=3), maybe),
                            "payment_intent": maybe,
                        }
                    )
                }
            ),
            maybe,
        ),
    }
)
adyen_items = st.fixed_dictionaries(
    {
        "pspReference": st.one_of(any_text, maybe),
        "eventCode": st.one_of(
            st.sampled_from(["AUTHORISATION", "CAPTURE", "REFUND", "REFUND_FAILED", "PAYOUT_THIRDPARTY"]), maybe
        ),
        "success": st.one_of(st.sampled_from(["true", "false"]), maybe),
        "amount": st.one_of(
            st.fixed_dictionaries(
                {
                    "value": st.one_of(st.integers(min_value=-(10**25), max_value=10**25), maybe),
                    "currency": st.one_of(st.sampled_from(["EUR", "JPY", "CLP", "ISK", "BHD", "ZZZ"]), maybe),
                }
            ),
            maybe,
        ),
        "merchantAccountCode": st.one_of(st.just(MERCHANT_ACCOUNT), maybe),
        "merchantReference": maybe,
        "originalReference": maybe,
        "eventDate": st.one_of(st.just("2026-11-27T12:00:00+01:00"), maybe),
        "reason": maybe,
    }
)
paypal_events = st.fixed_dictionaries(
    {
        "id": maybe,
        "event_type": st.one_of(
            st.sampled_from(["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED", "CHECKOUT.ORDER.APPROVED"]), maybe
        ),
        "create_time": maybe,
        "resource": st.one_of(
            st.fixed_dictionaries(
                {
                    "id": maybe,
                    "amount": st.one_of(
                        st.fixed_dictionaries({"currency_code": maybe, "value": st.one_of(any_text, maybe)}), maybe
                    ),
                    "custom_id": maybe,
                    "supplementary_data": maybe,
                }
            ),
            maybe,
        ),
    }
)


def _encoded(document: Any) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


bodies = st.one_of(
    st.binary(max_size=512),
    json_values.map(_encoded),
    stripe_events.map(_encoded),
    st.lists(adyen_items, max_size=3).map(
        lambda items: _encoded({"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]})
    ),
    paypal_events.map(_encoded),
)
stripe_signatures = st.one_of(
    ascii_text,
    st.builds(
        lambda t, sig: f"t={t},v1={sig}",
        st.one_of(st.integers(min_value=-(10**25), max_value=10**25), st.just(int(time.time()))),
        st.one_of(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), ascii_text),
    ),
)
header_values = st.one_of(ascii_text, st.just(""))
headers = st.fixed_dictionaries(
    {},
    optional={
        "Stripe-Signature": stripe_signatures,
        "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
        "PAYPAL-TRANSMISSION-ID": header_values,
        "PAYPAL-TRANSMISSION-TIME": st.one_of(
            header_values, st.just(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        ),
        "PAYPAL-TRANSMISSION-SIG": header_values,
        "PAYPAL-CERT-URL": st.one_of(
            header_values, st.just("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1")
        ),
        "PAYPAL-AUTH-ALGO": st.one_of(header_values, st.just("SHA256withRSA")),
        "X-Anything": header_values,
    },
)


def acceptable(answer: Any) -> bool:
    return 200 <= answer.status_code < 300 or 400 <= answer.status_code < 500


@FUZZ
@given(provider=PROVIDERS, body=bodies, sent_headers=headers)
def test_unsigned_or_forged_deliveries_are_4xx_or_2xx_and_store_nothing(
    payments_api: PaymentsApi, provider: str, body: bytes, sent_headers: dict[str, str]
) -> None:
    before = payments_api.stored_events()
    answer = payments_api.client.post(f"/v1/webhooks/{provider}", content=body, headers=sent_headers)
    assert acceptable(answer), (answer.status_code, answer.text)
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert payments_api.stored_events() == before


@FUZZ
@given(body=st.one_of(st.binary(max_size=256), json_values.map(_encoded), stripe_events.map(_encoded)))
def test_stripe_deliveries_signed_with_our_secret_but_any_content_never_500(
    payments_api: PaymentsApi, body: bytes
) -> None:
    header = sign(body, TEST_WEBHOOK_SECRET, int(time.time()))
    answer = payments_api.client.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": header})
    assert acceptable(answer), (answer.status_code, answer.text)


@FUZZ
@given(items=st.lists(adyen_items, min_size=1, max_size=3))
def test_adyen_batches_signed_with_our_key_but_any_content_never_500(
    payments_api: PaymentsApi, items: list[dict[str, Any]]
) -> None:
    signed = []
    for item in items:
        try:
            signature = sign_item(item, TEST_HMAC_KEY)
        except (AttributeError, TypeError):
            signature = "not-signable"
        signed.append({"NotificationRequestItem": {**item, "additionalData": {"hmacSignature": signature}}})
    body = _encoded({"live": "false", "notificationItems": signed})
    answer = payments_api.client.post("/v1/webhooks/adyen", content=body)
    assert acceptable(answer), (answer.status_code, answer.text)


@settings(max_examples=max(10, EXAMPLES // 5), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=paypal_events)
def test_paypal_deliveries_paypal_vouches_for_but_with_any_content_never_500(
    payments_api: PaymentsApi, event: dict[str, Any]
) -> None:
    body = _encoded(event)
    try:
        sent = payments_api.paypal.signed_headers(event)
    except (TypeError, ValueError):  # the fake cannot sign what json cannot sort
        return
    answer = payments_api.client.post("/v1/webhooks/paypal", content=body, headers=sent)
    assert acceptable(answer), (answer.status_code, answer.text)
