"""A fake of Adyen's Checkout API (v72: payments, refunds) and Transfers API (v4: payouts),
enough for ``AdyenGateway`` driven by the official SDK, plus HMAC-signed standard webhooks.

As the real API does, a refused payment is an HTTP 200 with ``resultCode: Refused``, not an
error status. The stored payment method id ``declined`` is always refused.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import FakeProvider, Movement, Request, Response, post

CHECKOUT_PATH = "/checkout/v72"
TRANSFERS_PATH = "/btl/v4"
DECLINED_PAYMENT_METHOD = "declined"
TEST_HMAC_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
MERCHANT_ACCOUNT = "GigcoreTest"

SDR_COLUMNS = (
    "Company Account",
    "Merchant Account",
    "Psp Reference",
    "Merchant Reference",
    "Payment Method",
    "Creation Date",
    "TimeZone",
    "Type",
    "Modification Reference",
    "Gross Currency",
    "Gross Debit (GC)",
    "Gross Credit (GC)",
    "Exchange Rate",
    "Net Currency",
    "Net Debit (NC)",
    "Net Credit (NC)",
    "Commission (NC)",
    "Markup (NC)",
    "Scheme Fees (NC)",
    "Interchange (NC)",
    "Payment Method Variant",
    "Modification Merchant Reference",
    "Batch Number",
)

SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)


def sign_item(item: dict[str, Any], hex_key: str) -> str:
    """The documented scheme: the eight fields joined by ``:``, HMAC-SHA256 keyed with the
    hex-decoded key, base64."""
    values = {
        **item,
        "value": item.get("amount", {}).get("value", ""),
        "currency": item.get("amount", {}).get("currency", ""),
    }
    signing = ":".join(str(values.get(name, "")) for name in SIGNED_FIELDS)
    mac = hmac.new(binascii.a2b_hex(hex_key), signing.encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class FakeAdyen(FakeProvider):
    name = "adyen"
    idempotency_header = "Idempotency-Key"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.payments: dict[str, dict[str, Any]] = {}

    def dispatch(self, request: Request, *, decline: bool) -> Response:
        if not request.header("x-api-key"):
            return Response.of_json(
                401,
                {
                    "status": 401,
                    "errorCode": "000",
                    "message": "HTTP Status Response - Unauthorized",
                    "errorType": "security",
                },
            )
        path = request.path
        if request.method == "POST" and path == f"{CHECKOUT_PATH}/payments":
            return self._pay(request, decline=decline)
        if request.method == "POST" and (m := re.fullmatch(rf"{CHECKOUT_PATH}/payments/(\w+)/refunds", path)):
            return self._refund(m.group(1), request, decline=decline)
        if request.method == "POST" and path == f"{TRANSFERS_PATH}/transfers":
            return self._transfer(request, decline=decline)
        if request.method == "GET" and path.startswith(f"/reports/download/MerchantAccount/{MERCHANT_ACCOUNT}/"):
            return Response(200, self.settlement_details().encode(), content_type="text/csv")
        return Response.of_json(404, {"status": 404, "errorCode": "000", "message": "not found in the fake"})

    def _pay(self, request: Request, *, decline: bool) -> Response:
        body = request.json()
        amount = body["amount"]
        psp = self.next_id("8815")
        method = body.get("paymentMethod", {}).get("storedPaymentMethodId")
        key = request.header(self.idempotency_header)
        refused = decline or method == DECLINED_PAYMENT_METHOD
        payment = {
            "pspReference": psp,
            "resultCode": "Refused" if refused else "Authorised",
            "amount": amount,
            "merchantReference": body["reference"],
        }
        if refused:
            payment.update(refusalReason="Refused", refusalReasonCode="2")
        self.payments[psp] = payment
        self.record(
            Movement(
                "charge",
                psp,
                amount["value"],
                amount["currency"],
                body["reference"],
                key,
                status="declined" if refused else "succeeded",
            )
        )
        return Response.of_json(200, payment)

    def _refund(self, psp: str, request: Request, *, decline: bool) -> Response:
        body = request.json()
        payment = self.payments.get(psp)
        if decline or payment is None or payment["resultCode"] != "Authorised":
            return Response.of_json(
                422,
                {
                    "status": 422,
                    "errorCode": "167",
                    "errorType": "validation",
                    "message": "Original pspReference required for this operation",
                },
            )
        refund_psp = self.next_id("8816")
        self.record(
            Movement(
                "refund",
                refund_psp,
                body["amount"]["value"],
                body["amount"]["currency"],
                psp,
                request.header(self.idempotency_header),
            )
        )
        return Response.of_json(
            201,
            {
                "merchantAccount": body.get("merchantAccount"),
                "paymentPspReference": psp,
                "pspReference": refund_psp,
                "reference": body.get("reference"),
                "status": "received",
                "amount": body["amount"],
            },
        )

    def _transfer(self, request: Request, *, decline: bool) -> Response:
        body = request.json()
        if decline:
            return Response.of_json(
                422,
                {
                    "type": "https://docs.adyen.com/errors/validation",
                    "status": 422,
                    "title": "Invalid transfer information provided",
                    "errorCode": "30_031",
                },
            )
        transfer_id = self.next_id("TR")
        self.record(
            Movement(
                "payout",
                transfer_id,
                body["amount"]["value"],
                body["amount"]["currency"],
                body.get("reference", ""),
                request.header(self.idempotency_header),
            )
        )
        return Response.of_json(
            200,
            {
                "id": transfer_id,
                "status": "authorised",
                "amount": body["amount"],
                "reference": body.get("reference"),
                "category": body.get("category"),
            },
        )

    def report_url(self, batch: int = 1) -> str:
        folder = f"{self.base_url}/reports/download/MerchantAccount/{MERCHANT_ACCOUNT}"
        return f"{folder}/settlement_detail_report_batch_{batch}.csv"

    def settlement_details(self) -> str:
        """One settlement details report (batch 1) with every charge and refund so far,
        in the documented column layout, times in CET."""
        created = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(SDR_COLUMNS)
        for m in self.movements:
            if m.status != "succeeded" or m.kind not in ("charge", "refund"):
                continue
            gross = f"{m.amount_minor / 100:.2f}"  # the fakes' currencies have two decimals
            if m.kind == "charge":
                row = [
                    "TestCompany",
                    MERCHANT_ACCOUNT,
                    m.provider_id,
                    m.reference,
                    "visa",
                    created,
                    "CET",
                    "Settled",
                    self.next_id("8817"),
                    m.currency,
                    "",
                    gross,
                    "1",
                    m.currency,
                    "",
                    gross,
                    "0",
                    "0",
                    "0",
                    "0",
                    "visa",
                    "",
                    "1",
                ]
            else:
                row = [
                    "TestCompany",
                    MERCHANT_ACCOUNT,
                    m.reference,
                    "",
                    "visa",
                    created,
                    "CET",
                    "Refunded",
                    m.provider_id,
                    m.currency,
                    gross,
                    "",
                    "1",
                    m.currency,
                    gross,
                    "",
                    "0",
                    "0",
                    "0",
                    "0",
                    "visa",
                    "",
                    "1",
                ]
            writer.writerow(row)
        return out.getvalue()

    def idempotency_conflict(self, key: str) -> Response:
        return Response.of_json(
            422,
            {
                "status": 422,
                "errorCode": "704",
                "errorType": "validation",
                "message": "request already processed or in progress",
            },
        )

    def unavailable(self) -> Response:
        return Response.of_json(503, {"status": 503, "errorCode": "000", "message": "Service unavailable"})

    def rate_limited(self) -> Response:
        return Response.of_json(429, {"status": 429, "errorCode": "000", "message": "Too many requests"})

    # -- webhooks --------------------------------------------------------------------

    def item(
        self,
        event_code: str,
        *,
        psp: str,
        reference: str,
        value: int,
        currency: str,
        success: bool = True,
        original: str = "",
    ) -> dict[str, Any]:
        return {
            "amount": {"currency": currency, "value": value},
            "eventCode": event_code,
            "eventDate": "2026-11-27T12:00:00+01:00",
            "merchantAccountCode": MERCHANT_ACCOUNT,
            "merchantReference": reference,
            "originalReference": original,
            "pspReference": psp,
            "reason": "",
            "success": "true" if success else "false",
        }

    @staticmethod
    def batch(*items: dict[str, Any], hmac_key: str = TEST_HMAC_KEY) -> dict[str, Any]:
        """A notification body with every item signed (``hmac_key=""`` leaves them unsigned)."""
        signed = []
        for item in items:
            copy = dict(item)
            if hmac_key:
                copy["additionalData"] = {**item.get("additionalData", {}), "hmacSignature": sign_item(item, hmac_key)}
            signed.append({"NotificationRequestItem": copy})
        return {"live": "false", "notificationItems": signed}

    def deliver(self, url: str, body: dict[str, Any]) -> int:
        return post(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
