"""A fake of PayPal's REST API: OAuth client credentials, Orders v2 (single-step create and
capture with a vaulted payment source, or an approval link without one, ``approve`` standing
in for the payer, then ``/capture``; get), capture refunds, Payouts v1, transaction search,
and the webhook postback verification.

Webhooks: ``deliver`` signs a delivery with a transmission signature the fake remembers;
``POST /v1/notifications/verify-webhook-signature`` answers SUCCESS only for that exact
(transmission, webhook id, event) triple, the way PayPal checks its own signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .base import FakeProvider, Movement, Request, Response, post

DECLINED_VAULT_ID = "declined"
CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
WEBHOOK_ID = "WH-FAKE-0001"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"


def _minor(value: str, exponent: int = 2) -> int:
    return int(Decimal(value).scaleb(exponent))


class FakePayPal(FakeProvider):
    name = "paypal"
    idempotency_header = "PayPal-Request-Id"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refund_objects: dict[str, dict[str, Any]] = {}  # by id, as ``GET /v2/payments/refunds/{id}`` answers
        self.tokens: set[str] = set()
        self.transmissions: dict[str, tuple[str, str, str]] = {}  # id -> (sig, webhook id, event json)
        self.transactions: list[dict[str, Any]] = []
        self.sender_batches: dict[str, str] = {}  # sender_batch_id -> payout_batch_id
        # Where the payer approves (a redirect link); __main__ points it at the fake itself,
        # whose ``GET /checkoutnow?token=`` then approves as the payer would.
        self.approval_base = "https://www.sandbox.paypal.com"

    def moves_money(self, request: Request) -> bool:
        return request.method == "POST" and not request.path.startswith(("/v1/oauth2", "/v1/notifications"))

    def dispatch(self, request: Request, *, decline: bool) -> Response:
        path = request.path
        if request.method == "POST" and path == "/v1/oauth2/token":
            return self._token(request)
        if request.method == "GET" and path == "/checkoutnow":
            return self._approval_page(request)
        auth = request.header("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.tokens:
            return Response.of_json(401, {"error": "invalid_token"})
        if request.method == "POST" and path == "/v2/checkout/orders":
            return self._create_order(request, decline=decline)
        if request.method == "POST" and (m := re.fullmatch(r"/v2/checkout/orders/(\w+)/capture", path)):
            return self._capture_order(m.group(1), request, decline=decline)
        if request.method == "GET" and (m := re.fullmatch(r"/v2/checkout/orders/(\w+)", path)):
            order = self.orders.get(m.group(1))
            return Response.of_json(200, order) if order else _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if request.method == "GET" and (m := re.fullmatch(r"/v2/payments/captures/(\w+)", path)):
            capture = self.captures.get(m.group(1))
            if capture is None:
                return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
            return Response.of_json(200, capture)
        if request.method == "POST" and (m := re.fullmatch(r"/v2/payments/captures/(\w+)/refund", path)):
            return self._refund(m.group(1), request, decline=decline)
        if request.method == "GET" and (m := re.fullmatch(r"/v2/payments/refunds/(\w+)", path)):
            refund = self.refund_objects.get(m.group(1))
            return Response.of_json(200, refund) if refund else _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if request.method == "POST" and path == "/v1/payments/payouts":
            return self._payout(request, decline=decline)
        if request.method == "GET" and path == "/v1/reporting/transactions":
            return Response.of_json(
                200,
                {
                    "transaction_details": self.transactions,
                    "page": 1,
                    "total_pages": 1,
                    "total_items": len(self.transactions),
                },
            )
        if request.method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return self._verify(request)
        return _error(404, "RESOURCE_NOT_FOUND", "NOT_FOUND")

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.header("Authorization") != f"Basic {expected}":
            return Response.of_json(401, {"error": "invalid_client"})
        token = "A21AA" + secrets.token_hex(16)
        self.tokens.add(token)
        return Response.of_json(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-FAKE",
                "expires_in": 32400,
                "nonce": secrets.token_hex(8),
            },
        )

    def _create_order(self, request: Request, *, decline: bool) -> Response:
        body = request.json()
        unit = body["purchase_units"][0]
        amount = unit["amount"]
        order_id = self.next_id("ORD")
        source = body.get("payment_source") or {}
        vault_id = next((v.get("vault_id") for v in source.values() if isinstance(v, dict)), None)
        key = request.header(self.idempotency_header)
        order: dict[str, Any] = {
            "id": order_id,
            "intent": body.get("intent"),
            "purchase_units": [dict(unit)],
            "create_time": _now(),
        }
        self.orders[order_id] = order
        minor = _minor(amount["value"])
        if vault_id is None:
            order.update(
                status="PAYER_ACTION_REQUIRED",
                links=[
                    {
                        "href": f"{self.approval_base}/checkoutnow?token={order_id}",
                        "rel": "payer-action",
                        "method": "GET",
                    }
                ],
            )
            return Response.of_json(200, order)
        if decline or vault_id == DECLINED_VAULT_ID:
            self.record(
                Movement(
                    "charge",
                    order_id,
                    minor,
                    amount["currency_code"],
                    unit.get("custom_id", ""),
                    key,
                    status="declined",
                )
            )
            order["status"] = "DECLINED"
            return _error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
        self._take(order, key)
        return Response.of_json(201, order)

    def approve(self, order_id: str) -> dict[str, Any]:
        """The payer approves the order on PayPal's page (what the redirect leads to);
        returns the order, as a CHECKOUT.ORDER.APPROVED webhook carries it (and sends that
        webhook when ``notify_url`` is set)."""
        order = self.orders[order_id]
        assert order["status"] == "PAYER_ACTION_REQUIRED", order["status"]
        order["status"] = "APPROVED"
        order.pop("links", None)
        approved = dict(order)
        self.notify(lambda url: self.deliver(url, self.event("CHECKOUT.ORDER.APPROVED", approved)))
        return approved

    def _approval_page(self, request: Request) -> Response:
        """``GET /checkoutnow?token=<order id>``: the payer approves (a manual sandbox)."""
        order_id = dict(p.split("=", 1) for p in request.query.split("&") if "=" in p).get("token", "")
        order = self.orders.get(order_id)
        if order is None or order["status"] != "PAYER_ACTION_REQUIRED":
            return Response(404, b"No order waiting for approval\n", content_type="text/plain")
        self.approve(order_id)
        return Response(
            200, f"Order {order_id} approved. You may close this page.\n".encode(), content_type="text/plain"
        )

    def _capture_order(self, order_id: str, request: Request, *, decline: bool) -> Response:
        order = self.orders.get(order_id)
        if order is None:
            return _error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if order["status"] == "COMPLETED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return _error(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        if decline:
            return _error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
        self._take(order, request.header(self.idempotency_header))
        return Response.of_json(201, order)

    def _take(self, order: dict[str, Any], key: str | None) -> None:
        """Capture the order in full: its capture, the money movement and the books."""
        unit = order["purchase_units"][0]
        amount = unit["amount"]
        capture_id = self.next_id("CAP")
        capture = {
            "id": capture_id,
            "status": "COMPLETED",
            "amount": amount,
            "custom_id": unit.get("custom_id"),
            "final_capture": True,
            "create_time": _now(),
            "supplementary_data": {"related_ids": {"order_id": order["id"]}},
        }
        self.captures[capture_id] = {**capture, "order_id": order["id"]}
        order["status"] = "COMPLETED"
        unit["payments"] = {"captures": [capture]}
        minor = _minor(amount["value"])
        self.record(Movement("charge", order["id"], minor, amount["currency_code"], unit.get("custom_id", ""), key))
        self._book("T0006", capture_id, amount["value"], amount["currency_code"], unit.get("custom_id"))
        completed = self.event("PAYMENT.CAPTURE.COMPLETED", dict(capture))
        self.notify(lambda url: self.deliver(url, completed))

    def _refund(self, capture_id: str, request: Request, *, decline: bool) -> Response:
        capture = self.captures.get(capture_id)
        body = request.json()
        if decline or capture is None:
            return _error(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
        amount = body.get("amount") or capture["amount"]
        refund_id = self.next_id("REF")
        self.record(
            Movement(
                "refund",
                refund_id,
                _minor(amount["value"]),
                amount["currency_code"],
                capture["order_id"],
                request.header(self.idempotency_header),
            )
        )
        self._book("T1107", refund_id, "-" + amount["value"], amount["currency_code"], body.get("custom_id"))
        refund = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": amount,
            "custom_id": body.get("custom_id"),
            "invoice_id": body.get("invoice_id"),
            "links": _refund_links(refund_id, capture_id),
        }
        self.refund_objects[refund_id] = {k: v for k, v in refund.items() if v is not None}
        return Response.of_json(201, refund)

    def set_refund_status(self, refund_id: str, status: str) -> None:
        """The refund moves on at PayPal (``PENDING``, ``COMPLETED``, ``FAILED``, ``CANCELLED``)."""
        with self._lock:
            self.refund_objects[refund_id]["status"] = status

    def dashboard_refund(self, capture_id: str, value: str) -> dict[str, Any]:
        """A refund the merchant makes in PayPal's dashboard: no ``custom_id`` nor
        ``invoice_id`` (gigcore never asked for it); returns the refund resource."""
        capture = self.captures[capture_id]
        refund_id = self.next_id("REF")
        amount = {"currency_code": capture["amount"]["currency_code"], "value": value}
        self.record(Movement("refund", refund_id, _minor(value), amount["currency_code"], capture["order_id"], None))
        refund = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": amount,
            "links": _refund_links(refund_id, capture_id),
        }
        self.refund_objects[refund_id] = dict(refund)
        return refund

    def _payout(self, request: Request, *, decline: bool) -> Response:
        body = request.json()
        if decline:
            return _error(422, "UNPROCESSABLE_ENTITY", "INSUFFICIENT_FUNDS")
        item = body["items"][0]
        sender_batch_id = body["sender_batch_header"]["sender_batch_id"]
        original = self.sender_batches.get(sender_batch_id)
        if original is not None:
            # PayPal pays a sender_batch_id once in 30 days: the error links the original.
            return Response.of_json(
                400,
                {
                    "name": "USER_BUSINESS_ERROR",
                    "message": f"Batch with given sender_batch_id already exists: {sender_batch_id}",
                    "debug_id": "fake",
                    "links": [
                        {"href": f"{self.base_url}/v1/payments/payouts/{original}", "rel": "self", "method": "GET"}
                    ],
                },
            )
        batch_id = self.next_id("BATCH")
        self.sender_batches[sender_batch_id] = batch_id
        value, currency = item["amount"]["value"], item["amount"]["currency"]
        self.record(
            Movement(
                "payout",
                batch_id,
                _minor(value),
                currency,
                item.get("sender_item_id", ""),
                request.header(self.idempotency_header),
            )
        )
        # As PayPal books a payout in transaction search: a hold on the batch (T1503), the
        # item paid (T0001, a debit under the item's own transaction id, never the batch
        # id, with the item's sender_item_id in custom_field), the hold released (T1105).
        hold = self.next_id("HOLD")
        self._book("T1503", hold, "-" + value, currency, None)
        self._book("T0001", self.next_id("TXN"), "-" + value, currency, item.get("sender_item_id"), related=hold)
        self._book("T1105", self.next_id("REL"), value, currency, None, related=hold)
        return Response.of_json(
            201,
            {
                "batch_header": {
                    "payout_batch_id": batch_id,
                    "batch_status": "PENDING",
                    "sender_batch_header": body["sender_batch_header"],
                }
            },
        )

    def _book(
        self, code: str, reference: str, value: str, currency: str, custom: str | None, *, related: str | None = None
    ) -> None:
        self.transactions.append(
            {
                "transaction_info": {
                    "transaction_id": reference,
                    **({"paypal_reference_id": related, "paypal_reference_id_type": "TXN"} if related else {}),
                    "transaction_event_code": code,
                    "transaction_initiation_date": _now(),
                    "transaction_updated_date": _now(),
                    "transaction_amount": {"currency_code": currency, "value": value},
                    "fee_amount": {"currency_code": currency, "value": "0.00"},
                    "transaction_status": "S",
                    "custom_field": custom,
                }
            }
        )

    def _verify(self, request: Request) -> Response:
        body = request.json()
        known = self.transmissions.get(body.get("transmission_id", ""))
        event = json.dumps(body.get("webhook_event"), sort_keys=True)
        ok = (
            known is not None
            and known[0] == body.get("transmission_sig")
            and known[1] == body.get("webhook_id")
            and known[2] == event
            and body.get("cert_url") == CERT_URL
        )
        return Response.of_json(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})

    def idempotency_conflict(self, key: str) -> Response:
        return _error(422, "UNPROCESSABLE_ENTITY", "DUPLICATE_REQUEST_ID")

    def unavailable(self) -> Response:
        return _error(503, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE")

    def rate_limited(self) -> Response:
        return _error(429, "RATE_LIMIT_REACHED", "RATE_LIMIT_REACHED")

    # -- webhooks --------------------------------------------------------------------

    def event(self, event_type: str, resource: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "id": event_id or self.next_id("WH-"),
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": "capture",
            "event_type": event_type,
            "summary": event_type,
            "resource": resource,
        }

    def signed_headers(
        self, event: dict[str, Any], *, webhook_id: str = WEBHOOK_ID, sent_at: datetime | None = None
    ) -> dict[str, str]:
        """Headers for a delivery of ``event``, remembered so the postback confirms them."""
        transmission_id = self.next_id("tx-")
        when = (sent_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = base64.b64encode(hashlib.sha256(f"{transmission_id}|{when}|{webhook_id}".encode()).digest())
        self.transmissions[transmission_id] = (signature.decode(), webhook_id, json.dumps(event, sort_keys=True))
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": signature.decode(),
            "PAYPAL-CERT-URL": CERT_URL,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "Content-Type": "application/json",
        }

    def deliver(self, url: str, event: dict[str, Any], **kwargs: Any) -> int:
        return post(url, json.dumps(event).encode(), self.signed_headers(event, **kwargs))


def _refund_links(refund_id: str, capture_id: str) -> list[dict[str, str]]:
    """As PayPal links a refund: to itself, and "up" to the capture it refunds."""
    api = "https://api.sandbox.paypal.com"
    return [
        {"href": f"{api}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
        {"href": f"{api}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"},
    ]


def _now() -> str:
    return datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, name: str, issue: str) -> Response:
    return Response.of_json(
        status,
        {"name": name, "message": issue, "debug_id": "fake", "details": [{"issue": issue, "description": issue}]},
    )
