"""PayPal webhook verification through the postback (against the local fake's verify
endpoint), with the checks the scheme leaves to us: transmission-time window, pinned
certificate host, algorithm; and decimal-string amounts converted exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.payments.paypal_rest import PayPalCredentials, PayPalRest
from adapters.payments.paypal_webhooks import PayPalWebhookVerifier, check_transmission, event_from
from core.payments.domain import ProviderEventKind, WebhookRejected
from core.shared.money import Money
from tests.fakes.providers.base import a_free_port
from tests.fakes.providers.paypal import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, FakePayPal

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePayPal]:
    with FakePayPal.running() as fake:
        yield fake


@pytest.fixture(scope="module")
def shared_verifier(fake: FakePayPal) -> PayPalWebhookVerifier:
    return a_verifier(fake.base_url)


def a_verifier(base_url: str, webhook_ids: tuple[str, ...] = (WEBHOOK_ID,)) -> PayPalWebhookVerifier:
    rest = PayPalRest(
        base_url=base_url,
        credentials=PayPalCredentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        read_timeout=2,
    )
    return PayPalWebhookVerifier(rest, webhook_ids, sandbox=True)


def a_capture(
    value: str = "10.50", currency: str = "EUR", event_type: str = "PAYMENT.CAPTURE.COMPLETED", event_id: str = "WH-1"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": "2026-11-27T11:59:58Z",
        "event_type": event_type,
        "resource_type": "capture",
        "resource": {
            "id": "CAP1",
            "status": "COMPLETED",
            "amount": {"currency_code": currency, "value": value},
            "custom_id": "pay_abc",
            "supplementary_data": {"related_ids": {"order_id": "ORD1"}},
        },
    }


def deliver(
    fake: FakePayPal,
    verifier: PayPalWebhookVerifier,
    event: dict[str, Any],
    *,
    body: bytes | None = None,
    sent_at: datetime = NOW,
    now: datetime = NOW,
    webhook_id: str = WEBHOOK_ID,
    **overrides: str,
) -> list:
    headers = fake.signed_headers(event, webhook_id=webhook_id, sent_at=sent_at)
    headers.update(overrides)
    return verifier.verify(headers, body if body is not None else json.dumps(event).encode(), now)


def test_a_delivery_paypal_confirms_is_accepted_and_normalised(fake: FakePayPal) -> None:
    [event] = deliver(fake, a_verifier(fake.base_url), a_capture())
    assert (event.provider, event.provider_event_id) == ("paypal", "WH-1")
    assert event.kind is ProviderEventKind.PAYMENT_CAPTURED
    assert (event.provider_reference, event.payment_id, event.amount) == ("ORD1", "pay_abc", Money.of(1050, "EUR"))


def test_the_received_bytes_are_what_paypal_is_asked_about(fake: FakePayPal) -> None:
    event = a_capture()
    body = json.dumps(event, indent=3).encode()  # not how we would re-serialise it
    deliver(fake, a_verifier(fake.base_url), event, body=body)
    asked = json.loads(fake.requests[-1].body)
    assert asked["webhook_event"] == event and asked["webhook_id"] == WEBHOOK_ID
    assert b'"webhook_event": ' + body in fake.requests[-1].body


def test_a_tampered_body_is_rejected_by_the_postback(fake: FakePayPal) -> None:
    event = a_capture()
    forged = json.dumps(a_capture(value="9999.00")).encode()
    with pytest.raises(WebhookRejected, match="did not confirm"):
        deliver(fake, a_verifier(fake.base_url), event, body=forged)


def test_a_delivery_for_another_webhook_id_is_rejected(fake: FakePayPal) -> None:
    with pytest.raises(WebhookRejected, match="did not confirm"):
        deliver(fake, a_verifier(fake.base_url), a_capture(), webhook_id="WH-SOMEONE-ELSE")


def test_during_a_rotation_either_webhook_id_verifies(fake: FakePayPal) -> None:
    verifier = a_verifier(fake.base_url, ("WH-OLD", WEBHOOK_ID))
    assert deliver(fake, verifier, a_capture())


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(hours=-2), timedelta(days=3)])
def test_a_transmission_outside_the_window_is_rejected_without_asking_paypal(fake: FakePayPal, skew: timedelta) -> None:
    asked = len(fake.requests)
    with pytest.raises(WebhookRejected, match="transmission time"):
        deliver(fake, a_verifier(fake.base_url), a_capture(), sent_at=NOW - skew)
    assert len(fake.requests) == asked


def test_a_replay_inside_the_window_is_the_same_event_for_the_inbox(fake: FakePayPal) -> None:
    verifier = a_verifier(fake.base_url)
    event = a_capture()
    headers = fake.signed_headers(event, sent_at=NOW)
    body = json.dumps(event).encode()
    first = verifier.verify(headers, body, NOW)
    assert verifier.verify(headers, body, NOW + timedelta(seconds=200)) == first
    with pytest.raises(WebhookRejected):
        verifier.verify(headers, body, NOW + timedelta(seconds=400))


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://evil.example.com/v1/notifications/certs/CERT-1",
        "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com.evil.example/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1",  # live host, sandbox verifier
        "https://user@api.sandbox.paypal.com/certs/CERT-1",
        "https://api.sandbox.paypal.com:8443/certs/CERT-1",
        "not a url at all",
    ],
)
def test_a_certificate_url_off_the_pinned_host_is_rejected(cert_url: str) -> None:
    headers = {
        "PAYPAL-TRANSMISSION-ID": "t",
        "PAYPAL-TRANSMISSION-TIME": "2026-11-27T12:00:00Z",
        "PAYPAL-TRANSMISSION-SIG": "s",
        "PAYPAL-CERT-URL": cert_url,
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
    with pytest.raises(WebhookRejected, match="certificate host"):
        check_transmission(headers, NOW, cert_host="api.sandbox.paypal.com")


@pytest.mark.parametrize(
    "missing",
    [
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
        "PAYPAL-TRANSMISSION-TIME",
    ],
)
def test_a_missing_transmission_header_is_rejected(fake: FakePayPal, missing: str) -> None:
    event = a_capture()
    headers = fake.signed_headers(event, sent_at=NOW)
    del headers[missing]
    with pytest.raises(WebhookRejected, match=missing):
        a_verifier(fake.base_url).verify(headers, json.dumps(event).encode(), NOW)


def test_another_algorithm_is_rejected(fake: FakePayPal) -> None:
    with pytest.raises(WebhookRejected, match="AUTH-ALGO"):
        deliver(fake, a_verifier(fake.base_url), a_capture(), **{"PAYPAL-AUTH-ALGO": "SHA1withRSA"})


def test_when_paypal_cannot_be_asked_the_delivery_is_rejected_for_a_redelivery(fake: FakePayPal) -> None:
    verifier = a_verifier(f"http://127.0.0.1:{a_free_port()}")
    with pytest.raises(WebhookRejected, match="could not be asked"):
        deliver(fake, verifier, a_capture())


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [("10.50", "EUR", 1050), ("0.01", "USD", 1), ("1000", "JPY", 1000), ("1.234", "BHD", 1234), ("7", "EUR", 700)],
)
def test_decimal_string_amounts_become_exact_minor_units(value: str, currency: str, minor: int) -> None:
    assert event_from(a_capture(value, currency)).amount == Money.of(minor, currency)


@pytest.mark.parametrize("value", ["10.505", "1e400", "NaN", "-1.00", "abc", 10.5, 1050, "", "10.5.0"])
def test_amounts_that_are_not_exact_decimal_strings_are_rejected(value: object) -> None:
    with pytest.raises(WebhookRejected):
        event_from(a_capture(value))  # type: ignore[arg-type]


def test_refund_and_payout_events_are_normalised() -> None:
    refund = {
        "id": "WH-2",
        "create_time": "2026-11-27T12:00:00Z",
        "event_type": "PAYMENT.CAPTURE.REFUNDED",
        "resource": {
            "id": "REF1",
            "amount": {"currency_code": "EUR", "value": "3.00"},
            "custom_id": "pay_abc",
            "invoice_id": "rfd_1",
        },
    }
    event = event_from(refund)
    assert (event.kind, event.refund_reference, event.refund_id, event.payment_id, event.amount) == (
        ProviderEventKind.PAYMENT_REFUNDED,
        "REF1",
        "rfd_1",
        "pay_abc",
        Money.of(300, "EUR"),
    )
    payout = {
        "id": "WH-3",
        "create_time": "2026-11-27T12:00:00Z",
        "event_type": "PAYMENT.PAYOUTS-ITEM.FAILED",
        "resource": {
            "payout_batch_id": "B1",
            "transaction_status": "FAILED",
            "payout_item": {"amount": {"currency": "EUR", "value": "10.00"}},
        },
    }
    event = event_from(payout)
    assert (event.kind, event.provider_reference, event.amount) == (
        ProviderEventKind.PAYOUT_FAILED,
        "B1",
        Money.of(1000, "EUR"),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda v, c, t: json.dumps(a_capture(v, c, t)).encode(),
            st.text(max_size=8),
            st.text(max_size=4),
            st.sampled_from(["PAYMENT.CAPTURE.COMPLETED", "X"]),
        ),
    ),
    header_noise=st.dictionaries(
        st.sampled_from(["PAYPAL-TRANSMISSION-TIME", "PAYPAL-CERT-URL", "PAYPAL-TRANSMISSION-SIG", "PAYPAL-AUTH-ALGO"]),
        st.text(max_size=40),
        max_size=2,
    ),
)
def test_fuzzed_deliveries_are_rejected_or_verified_never_a_crash(
    fake: FakePayPal, shared_verifier: PayPalWebhookVerifier, body: bytes, header_noise: dict[str, str]
) -> None:
    headers = fake.signed_headers({"id": "x"}, sent_at=NOW)
    headers.update(header_noise)
    try:
        shared_verifier.verify(headers, body, NOW)
    except WebhookRejected:
        return
    raise AssertionError("a fuzzed delivery was confirmed")
