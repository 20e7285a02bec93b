"""A fake of the Stripe v1 API, enough for ``StripeGateway`` driven by the official SDK.

PaymentIntents (create with ``confirm=true``, confirm, retrieve, search by
``metadata['reference']``), refunds, transfers (payouts to connected accounts), balance
transactions, and signed webhooks (``Stripe-Signature``, the documented v1 scheme). The test
payment method ``pm_card_chargeDeclined`` is declined as Stripe's test mode declines it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs

from .base import FakeProvider, Movement, Request, Response, post

DECLINED_PAYMENT_METHOD = "pm_card_chargeDeclined"
# Confirms to ``requires_capture`` (an intent authorised, as with capture_method=manual).
AUTHORIZE_ONLY_PAYMENT_METHOD = "pm_card_authorizeOnly"
TEST_WEBHOOK_SECRET = "whsec_test_fake_secret"


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The documented scheme: HMAC-SHA256 over ``f"{t}.{body}"``, hex, as ``t=…,v1=…``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class FakeStripe(FakeProvider):
    name = "stripe"
    idempotency_header = "Idempotency-Key"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.intents: dict[str, dict[str, Any]] = {}
        self.refund_objects: dict[str, dict[str, Any]] = {}  # by id, as ``GET /v1/refunds/{id}`` answers
        self.balance_transactions: list[dict[str, Any]] = []

    # -- API ---------------------------------------------------------------------------

    def dispatch(self, request: Request, *, decline: bool) -> Response:
        if not (request.header("Authorization") or "").startswith("Bearer "):
            return _error(401, "invalid_request_error", "No API key provided.")
        form = _form(request.body) if request.method == "POST" else _form(request.query.encode())
        path = request.path
        if request.method == "POST" and path == "/v1/payment_intents":
            return self._create_intent(form, request, decline=decline)
        if request.method == "POST" and (m := re.fullmatch(r"/v1/payment_intents/(pi_\w+)/capture", path)):
            return self._capture(m.group(1), request, decline=decline)
        if m := re.fullmatch(r"/v1/payment_intents/(pi_\w+)/confirm", path):
            return self._confirm(m.group(1), form, request, decline=decline)
        if request.method == "GET" and path == "/v1/payment_intents/search":
            return self._search(form.get("query", ""))
        if request.method == "GET" and (m := re.fullmatch(r"/v1/payment_intents/(pi_\w+)", path)):
            intent = self.intents.get(m.group(1))
            return Response.of_json(200, intent) if intent else _error(404, "invalid_request_error", "No such intent")
        if request.method == "POST" and path == "/v1/refunds":
            return self._refund(form, request, decline=decline)
        if request.method == "GET" and (m := re.fullmatch(r"/v1/refunds/(re_\w+)", path)):
            refund = self.refund_objects.get(m.group(1))
            return Response.of_json(200, refund) if refund else _error(404, "invalid_request_error", "No such refund")
        if request.method == "POST" and path == "/v1/transfers":
            return self._transfer(form, request, decline=decline)
        if request.method == "GET" and path == "/v1/balance_transactions":
            return self._balance_transactions(form)
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {path})")

    def _create_intent(self, form: dict[str, str], request: Request, *, decline: bool) -> Response:
        intent_id = self.next_id("pi_")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "status": "requires_confirmation",
            "payment_method": form.get("payment_method"),
            "latest_charge": None,
            "metadata": _metadata(form),
            "created": int(time.time()),
        }
        self.intents[intent_id] = intent
        if form.get("confirm") == "true":
            return self._confirm(intent_id, form, request, decline=decline)
        return Response.of_json(200, intent)

    def _confirm(self, intent_id: str, form: dict[str, str], request: Request, *, decline: bool) -> Response:
        intent = self.intents.get(intent_id)
        if intent is None:
            return _error(404, "invalid_request_error", "No such payment_intent")
        method = form.get("payment_method") or intent["payment_method"]
        key = request.header(self.idempotency_header)
        if decline or method == DECLINED_PAYMENT_METHOD:
            intent["status"] = "requires_payment_method"
            self.record(
                Movement(
                    "charge",
                    intent_id,
                    intent["amount"],
                    intent["currency"].upper(),
                    intent["metadata"].get("payment_id", ""),
                    key,
                    status="declined",
                )
            )
            body = {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "payment_intent": intent,
                }
            }
            return Response.of_json(402, body)
        charge_id = self.next_id("ch_")
        if method == AUTHORIZE_ONLY_PAYMENT_METHOD:
            intent.update(status="requires_capture", latest_charge=charge_id, amount_capturable=intent["amount"])
            return Response.of_json(200, intent)
        return self._take(intent, charge_id, key)

    def _capture(self, intent_id: str, request: Request, *, decline: bool) -> Response:
        intent = self.intents.get(intent_id)
        if intent is None:
            return _error(404, "invalid_request_error", "No such payment_intent")
        if intent["status"] != "requires_capture":
            body = {
                "error": {
                    "type": "invalid_request_error",
                    "code": "payment_intent_unexpected_state",
                    "message": f"This PaymentIntent could not be captured: its status is {intent['status']}.",
                }
            }
            return Response.of_json(400, body)
        if decline:
            return _error(402, "card_error", "Your card was declined.")
        return self._take(intent, str(intent["latest_charge"]), request.header(self.idempotency_header))

    def _take(self, intent: dict[str, Any], charge_id: str, key: str | None) -> Response:
        """The intent succeeds: the money movement and its balance transaction."""
        intent_id = intent["id"]
        intent.update(
            status="succeeded", latest_charge=charge_id, amount_received=intent["amount"], amount_capturable=0
        )
        self.record(
            Movement(
                "charge",
                intent_id,
                intent["amount"],
                intent["currency"].upper(),
                intent["metadata"].get("payment_id", ""),
                key,
            )
        )
        self._book(
            "charge",
            {"id": charge_id, "object": "charge", "payment_intent": intent_id, "metadata": intent["metadata"]},
            intent["amount"],
            intent["currency"],
        )
        succeeded = self.event("payment_intent.succeeded", dict(intent))
        self.notify(lambda url: self.deliver(url, succeeded))
        return Response.of_json(200, intent)

    def _search(self, query: str) -> Response:
        m = re.fullmatch(r"metadata\['payment_id'\]:'([^']*)'", query)
        if m is None:
            return _error(400, "invalid_request_error", "unsupported search query in the fake")
        found = [i for i in self.intents.values() if i["metadata"].get("payment_id") == m.group(1)]
        return Response.of_json(
            200, {"object": "search_result", "data": found, "has_more": False, "url": "/v1/payment_intents/search"}
        )

    def _refund(self, form: dict[str, str], request: Request, *, decline: bool) -> Response:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return _error(400, "invalid_request_error", "No such captured payment_intent", code="resource_missing")
        amount = int(form.get("amount") or intent["amount"])
        refunded = sum(m.amount_minor for m in self.refunds if m.reference == intent["id"])
        if decline or amount + refunded > intent["amount"]:
            return _error(400, "invalid_request_error", "Refund amount exceeds the charge", code="amount_too_large")
        refund_id = self.next_id("re_")
        self.record(
            Movement(
                "refund",
                refund_id,
                amount,
                intent["currency"].upper(),
                intent["id"],
                request.header(self.idempotency_header),
            )
        )
        self._book(
            "refund",
            {"id": refund_id, "object": "refund", "payment_intent": intent["id"], "metadata": _metadata(form)},
            -amount,
            intent["currency"],
        )
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "metadata": _metadata(form),
        }
        self.refund_objects[refund_id] = dict(refund)
        return Response.of_json(200, refund)

    def set_refund_status(self, refund_id: str, status: str) -> None:
        """The refund moves on at Stripe (``pending``, ``succeeded``, ``failed``, ``canceled``)."""
        with self._lock:
            self.refund_objects[refund_id]["status"] = status

    def _transfer(self, form: dict[str, str], request: Request, *, decline: bool) -> Response:
        destination = form.get("destination", "")
        if decline or not destination.startswith("acct_"):
            return _error(400, "invalid_request_error", "No such destination account", code="account_invalid")
        transfer_id = self.next_id("tr_")
        amount = int(form["amount"])
        self.record(
            Movement(
                "payout",
                transfer_id,
                amount,
                form["currency"].upper(),
                destination,
                request.header(self.idempotency_header),
            )
        )
        self._book(
            "transfer",
            {"id": transfer_id, "object": "transfer", "metadata": _metadata(form)},
            -amount,
            form["currency"],
        )
        return Response.of_json(
            200,
            {
                "id": transfer_id,
                "object": "transfer",
                "amount": amount,
                "currency": form["currency"],
                "destination": destination,
                "reversed": False,
                "metadata": _metadata(form),
            },
        )

    def _book(self, category: str, source: dict[str, Any], amount: int, currency: str) -> None:
        self.balance_transactions.append(
            {
                "id": self.next_id("txn_"),
                "object": "balance_transaction",
                "amount": amount,
                "currency": currency,
                "fee": 0,
                "net": amount,
                "type": category,
                "reporting_category": category,
                "source": source,
                "created": int(time.time()),
            }
        )

    def _balance_transactions(self, form: dict[str, str]) -> Response:
        expand = "data.source" in (form.get("expand[0]"), form.get("expand[]"))
        rows = [r if expand else {**r, "source": r["source"]["id"]} for r in self.balance_transactions]
        if "created[gte]" in form:
            rows = [r for r in rows if r["created"] >= int(form["created[gte]"])]
        if "created[lt]" in form:
            rows = [r for r in rows if r["created"] < int(form["created[lt]"])]
        if "starting_after" in form:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(form["starting_after"]) + 1 :] if form["starting_after"] in ids else []
        limit = int(form.get("limit", "10"))
        return Response.of_json(
            200,
            {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit, "url": "/v1/balance_transactions"},
        )

    def idempotency_conflict(self, key: str) -> Response:
        return _error(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        )

    def unavailable(self) -> Response:
        return _error(503, "api_error", "The fake is unavailable")

    def rate_limited(self) -> Response:
        return _error(429, "invalid_request_error", "Too many requests", code="rate_limit")

    # -- webhooks --------------------------------------------------------------------

    def event(self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "id": event_id or self.next_id("evt_"),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }

    def deliver(
        self, url: str, event: dict[str, Any], *, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None
    ) -> int:
        """POST ``event`` to ``url`` signed as Stripe signs; returns the HTTP status."""
        body = json.dumps(event).encode()
        header = sign(body, secret, int(time.time()) if timestamp is None else timestamp)
        return post(url, body, {"Stripe-Signature": header, "Content-Type": "application/json"})


def _form(raw: bytes) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[") and k.endswith("]")}


def _error(status: int, kind: str, message: str, *, code: str | None = None) -> Response:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return Response.of_json(status, {"error": error})
