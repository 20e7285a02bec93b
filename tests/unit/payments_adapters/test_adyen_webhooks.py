"""Adyen webhook verification: every item of a batch carries its own HMAC (hex key,
HMAC-SHA256 over eight ``:``-joined fields, base64). Vectors built from the documented scheme
and cross-checked with the official SDK; the SDK helper's item-0-only trap is shown closed."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from Adyen import util
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.payments.adyen_webhooks import AdyenWebhookVerifier
from core.payments.domain import ProviderEventKind, WebhookRejected
from core.shared.money import Money
from tests.fakes.providers.adyen import FakeAdyen

KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
NEW_KEY = "A0B1C2D3E4F5061728394A5B6C7D8E9FA0B1C2D3E4F5061728394A5B6C7D8E9F"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def an_item(
    event_code: str = "AUTHORISATION",
    *,
    psp: str = "8815000000000001",
    value: int = 1050,
    success: str = "true",
    reference: str = "pay_abc",
    original: str = "",
) -> dict[str, Any]:
    return {
        "amount": {"currency": "EUR", "value": value},
        "eventCode": event_code,
        "eventDate": "2026-11-27T13:00:00+01:00",
        "merchantAccountCode": "GigcoreTest",
        "merchantReference": reference,
        "originalReference": original,
        "pspReference": psp,
        "reason": "",
        "success": success,
    }


def documented_signature(item: dict[str, Any], key: str = KEY) -> str:
    """The scheme as the docs state it, independent of the code under test."""
    fields = [
        item.get("pspReference", ""),
        item.get("originalReference", ""),
        item.get("merchantAccountCode", ""),
        item.get("merchantReference", ""),
        str(item["amount"]["value"]),
        item["amount"]["currency"],
        item.get("eventCode", ""),
        item.get("success", ""),
    ]
    mac = hmac.new(binascii.a2b_hex(key), ":".join(fields).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def batch(*items: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    signed = []
    for item in items:
        copy_ = dict(item)
        copy_["additionalData"] = {"hmacSignature": documented_signature(item, key)}
        signed.append({"NotificationRequestItem": copy_})
    return {"live": "false", "notificationItems": signed}


def verify(body: dict[str, Any] | bytes, keys: tuple[str, ...] = (KEY,)) -> list:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return AdyenWebhookVerifier(keys).verify({}, raw, NOW)


def test_a_signed_batch_is_accepted_and_every_item_normalised() -> None:
    events = verify(
        batch(
            an_item(),
            an_item("REFUND", psp="8816000000000002", value=300, reference="rfd_1", original="8815000000000001"),
        )
    )
    capture, refund = events
    assert (capture.provider_event_id, capture.kind, capture.provider_reference, capture.payment_id) == (
        "8815000000000001:AUTHORISATION:true",
        ProviderEventKind.PAYMENT_CAPTURED,
        "8815000000000001",
        "pay_abc",
    )
    assert capture.amount == Money.of(1050, "EUR")
    assert capture.occurred_at == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert (refund.kind, refund.provider_reference, refund.refund_reference, refund.refund_id) == (
        ProviderEventKind.PAYMENT_REFUNDED,
        "8815000000000001",
        "8816000000000002",
        "rfd_1",
    )


def test_the_official_sdk_signer_and_the_documented_scheme_agree() -> None:
    item = an_item()
    assert util.generate_notification_sig(item, KEY).decode() == documented_signature(item)
    assert FakeAdyen.batch(item, hmac_key=KEY) == batch(item)


def test_one_tampered_item_rejects_the_whole_batch_where_the_sdk_helper_checks_only_the_first() -> None:
    body = batch(an_item(), an_item(psp="8815000000000002"))
    body["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] = 999_999
    assert util.is_valid_hmac_notification(copy.deepcopy(body), KEY) is True  # the trap
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(body)


def test_an_unsigned_item_rejects_the_batch_where_the_sdk_helper_returns_none() -> None:
    body = batch(an_item(), an_item(psp="8815000000000002"))
    del body["notificationItems"][1]["NotificationRequestItem"]["additionalData"]
    assert (
        util.is_valid_hmac_notification(copy.deepcopy(body["notificationItems"][1]["NotificationRequestItem"]), KEY)
        is None
    )
    with pytest.raises(WebhookRejected, match="no hmacSignature"):
        verify(body)


@pytest.mark.parametrize(
    "field", ["pspReference", "merchantReference", "eventCode", "success", "merchantAccountCode", "originalReference"]
)
def test_changing_any_signed_field_breaks_the_signature(field: str) -> None:
    body = batch(an_item())
    item = body["notificationItems"][0]["NotificationRequestItem"]
    item[field] = "false" if field == "success" else "changed"
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(body)


def test_a_batch_signed_with_another_key_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(batch(an_item(), key=NEW_KEY))


@pytest.mark.parametrize("signed_with", [KEY, NEW_KEY])
def test_during_a_rotation_either_key_verifies(signed_with: str) -> None:
    assert verify(batch(an_item(), key=signed_with), keys=(KEY, NEW_KEY))


def test_a_replayed_item_keeps_its_event_id_for_the_inbox_to_dedupe() -> None:
    body = batch(an_item())
    assert verify(body)[0].provider_event_id == verify(body)[0].provider_event_id


def test_a_failed_authorisation_is_a_failed_payment_with_a_distinct_event_id() -> None:
    item = an_item(success="false")
    item["reason"] = "Refused"
    [event] = verify(batch(item))
    assert (event.kind, event.reason, event.provider_event_id) == (
        ProviderEventKind.PAYMENT_FAILED,
        "Refused",
        "8815000000000001:AUTHORISATION:false",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[accepted]",
        b"[]",
        b'{"notificationItems": []}',
        b'{"notificationItems": [1]}',
        b'{"notificationItems": [{"NotificationRequestItem": []}]}',
        b"\xff\xfe",
    ],
)
def test_a_malformed_body_is_rejected(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        verify(body)


@pytest.mark.parametrize("value", [True, "1050", 10.5, None])
def test_an_amount_value_that_is_not_an_integer_is_rejected(value: object) -> None:
    body = batch(an_item())
    body["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] = value
    with pytest.raises(WebhookRejected):
        verify(body)


def test_a_boolean_success_flag_is_rejected_even_if_signed_as_the_sdk_would() -> None:
    item = an_item()
    item["success"] = True  # the SDK signs str(True) == "True"
    body = {
        "notificationItems": [
            {
                "NotificationRequestItem": {
                    **item,
                    "additionalData": {"hmacSignature": util.generate_notification_sig(item, KEY).decode()},
                }
            }
        ]
    }
    with pytest.raises(WebhookRejected, match="success"):
        verify(body)


def test_no_configured_key_or_only_a_broken_one_rejects_without_crashing() -> None:
    body = json.dumps(batch(an_item())).encode()
    with pytest.raises(WebhookRejected, match="no valid Adyen HMAC key"):
        AdyenWebhookVerifier(lambda: ("not-hex",)).verify({}, body, NOW)
    with pytest.raises(ValueError, match="hexadecimal"):
        AdyenWebhookVerifier(("not-hex",))


def test_items_for_another_merchant_account_are_rejected_when_one_is_configured() -> None:
    body = json.dumps(batch(an_item())).encode()
    with pytest.raises(WebhookRejected, match="another merchant account"):
        AdyenWebhookVerifier((KEY,), merchant_account="SomeoneElse").verify({}, body, NOW)


item_strategy = st.fixed_dictionaries(
    {
        "amount": st.fixed_dictionaries(
            {
                "currency": st.sampled_from(["EUR", "JPY", "XXX", ""]),
                "value": st.one_of(st.integers(), st.text(max_size=5)),
            }
        ),
        "eventCode": st.sampled_from(["AUTHORISATION", "REFUND", "CAPTURE", "PAYOUT_THIRDPARTY", "X"]),
        "eventDate": st.one_of(st.text(max_size=30), st.just("2026-11-27T13:00:00+01:00")),
        "merchantAccountCode": st.text(max_size=10),
        "merchantReference": st.text(max_size=10),
        "pspReference": st.text(max_size=16),
        "success": st.sampled_from(["true", "false", "maybe"]),
    },
    optional={"originalReference": st.text(max_size=5), "reason": st.one_of(st.text(max_size=5), st.integers())},
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(item_strategy, min_size=1, max_size=3), sign=st.booleans(), noise=st.binary(max_size=40))
def test_fuzzed_batches_are_rejected_or_verified_never_a_crash(
    items: list[dict[str, Any]], sign: bool, noise: bytes
) -> None:
    body = batch(*items) if sign else {"notificationItems": [{"NotificationRequestItem": i} for i in items]}
    for raw in (json.dumps(body).encode(), noise):
        try:
            events = verify(raw)
        except WebhookRejected:
            continue
        assert sign and len(events) == len(items)


def test_an_isk_amount_in_adyen_units_becomes_iso_minor_units() -> None:
    item = an_item(value=70000)
    item["amount"]["currency"] = "ISK"
    [event] = verify(batch(item))
    assert event.amount == Money.of(700, "ISK")
