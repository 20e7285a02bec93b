"""PayPal events name the capture: a capture event's resource is the capture, a refund's
"up" link points at it. A refund made in PayPal's dashboard carries none of our ids, so
the capture reference is how the consumer finds its payment."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.payments.paypal_webhooks import event_from
from core.payments.domain import ProviderEventKind, WebhookRejected
from core.shared.money import Money

API = "https://api.sandbox.paypal.com"


def a_refund_event(resource: dict[str, Any], event_type: str = "PAYMENT.CAPTURE.REFUNDED") -> dict[str, Any]:
    return {"id": "WH-R1", "create_time": "2026-11-27T12:00:00Z", "event_type": event_type, "resource": resource}


def a_dashboard_refund(links: object) -> dict[str, Any]:
    return {"id": "REF9", "status": "COMPLETED", "amount": {"currency_code": "EUR", "value": "4.00"}, "links": links}


def test_a_capture_event_names_its_capture() -> None:
    event = event_from(
        {
            "id": "WH-C1",
            "create_time": "2026-11-27T12:00:00Z",
            "event_type": "PAYMENT.CAPTURE.COMPLETED",
            "resource": {
                "id": "CAP7",
                "status": "COMPLETED",
                "amount": {"currency_code": "EUR", "value": "10.00"},
                "custom_id": "pay_1",
                "supplementary_data": {"related_ids": {"order_id": "ORD7"}},
            },
        }
    )
    assert (event.kind, event.provider_reference, event.capture_reference) == (
        ProviderEventKind.PAYMENT_CAPTURED,
        "ORD7",
        "CAP7",
    )


@pytest.mark.parametrize(
    "event_type", ["PAYMENT.CAPTURE.REFUNDED", "PAYMENT.REFUND.COMPLETED", "PAYMENT.REFUND.FAILED"]
)
def test_a_dashboard_refund_names_only_its_capture_through_the_up_link(event_type: str) -> None:
    links = [
        {"href": f"{API}/v2/payments/refunds/REF9", "rel": "self", "method": "GET"},
        {"href": f"{API}/v2/payments/captures/2GG279541U471931P", "rel": "up", "method": "GET"},
    ]
    event = event_from(a_refund_event(a_dashboard_refund(links), event_type))
    assert (event.payment_id, event.refund_id, event.provider_reference) == (None, None, None)
    assert (event.refund_reference, event.capture_reference, event.amount) == (
        "REF9",
        "2GG279541U471931P",
        Money.of(400, "EUR"),
    )


@pytest.mark.parametrize(
    "links",
    [
        None,
        [],
        "up",
        [{"href": f"{API}/v2/payments/refunds/REF9", "rel": "self"}],
        [{"href": f"{API}/v2/checkout/orders/ORD1", "rel": "up"}],  # not a capture
        [{"href": "http://[::1", "rel": "up"}],  # not a URL
        [{"href": 7, "rel": "up"}, "up", None],
        [{"href": f"{API}/v2/payments/captures/../x", "rel": "up"}],
    ],
)
def test_a_refund_without_a_readable_capture_link_names_no_capture(links: object) -> None:
    assert event_from(a_refund_event(a_dashboard_refund(links))).capture_reference is None


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=60)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12,
)


@given(
    links=st.one_of(
        _json,
        st.lists(
            st.fixed_dictionaries(
                {"rel": st.sampled_from(["up", "self", "UP"]), "href": st.one_of(st.text(max_size=80), _json)}
            ),
            max_size=3,
        ),
    )
)
def test_any_links_give_a_capture_reference_or_none_never_a_crash(links: object) -> None:
    try:
        event = event_from(a_refund_event(a_dashboard_refund(links)))
    except WebhookRejected:
        return
    assert event.capture_reference is None or re.fullmatch(r"[A-Za-z0-9_-]{1,64}", event.capture_reference)
