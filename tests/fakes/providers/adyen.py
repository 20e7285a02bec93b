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
REPORTS_PATH = f"/reports/download/MerchantAccount/{MERCHANT_ACCOUNT}"

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
        # Settlement batches: each closed batch's report rows, and how many movements they cover.
        self.batches: list[list[list[str]]] = []
        self._batched = 0

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
        if request.method == "POST" and (m := re.fullmatch(rf"{CHECKOUT_PATH}/payments/(\w+)/captures", path)):
            return self._capture(m.group(1), request, decline=decline)
        if request.method == "POST" and (m := re.fullmatch(rf"{CHECKOUT_PATH}/payments/(\w+)/refunds", path)):
            return self._refund(m.group(1), request, decline=decline)
        if request.method == "POST" and path == f"{TRANSFERS_PATH}/transfers":
            return self._transfer(request, decline=decline)
        if request.method == "GET" and (
            m := re.fullmatch(rf"{REPORTS_PATH}/settlement_detail_report_batch_(\d+)\.csv", path)
        ):
            report = self.settlement_details(int(m.group(1)))
            if report is None:
                return Response(404, b"Not Found", content_type="text/plain")
            return Response(200, report.encode(), content_type="text/csv")
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
        if not refused:
            item = self.item(
                "AUTHORISATION",
                psp=psp,
                reference=body["reference"],
                value=amount["value"],
                currency=amount["currency"],
            )
            self.notify(lambda url: self.deliver(url, self.batch(item)))
        return Response.of_json(200, payment)

    def _capture(self, psp: str, request: Request, *, decline: bool) -> Response:
        """A capture modification: "received" once per payment (the CAPTURE webhook would
        report it); a second capture of the same payment is refused."""
        body = request.json()
        payment = self.payments.get(psp)
        if decline or payment is None or payment["resultCode"] != "Authorised" or payment.get("captureRequested"):
            return Response.of_json(
                422,
                {"status": 422, "errorCode": "167", "errorType": "validation", "message": "Capture not allowed"},
            )
        payment["captureRequested"] = True
        return Response.of_json(
            201,
            {
                "merchantAccount": body.get("merchantAccount"),
                "paymentPspReference": psp,
                "pspReference": self.next_id("8817"),
                "reference": body.get("reference"),
                "status": "received",
                "amount": body.get("amount"),
            },
        )

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
        return f"{self.base_url}{REPORTS_PATH}/settlement_detail_report_batch_{batch}.csv"

    def close_batch(self, booked_at: datetime | None = None) -> int:
        """Settle every charge and refund since the last batch into a new one (its report
        appears, times in CET, booked now or at ``booked_at``); returns its number. Nothing
        new to settle: no batch, 0."""
        with self._lock:
            return self._close_batch(booked_at)

    def _close_batch(self, booked_at: datetime | None = None) -> int:
        movements = self.movements[self._batched :]
        if not movements:
            return 0
        self._batched += len(movements)
        number = len(self.batches) + 1
        created = ((booked_at or datetime.now(UTC)).astimezone(UTC) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
        rows = [
            self._row(m, created, number)
            for m in movements
            if m.status == "succeeded" and m.kind in ("charge", "refund")
        ]
        self.batches.append(rows)
        return number

    def settlement_details(self, batch: int = 1) -> str | None:
        """The settlement details report of ``batch`` in the documented column layout, or
        None (no such batch). Asking for the next batch number closes it first when there is
        anything to settle, as if Adyen had just paid it out."""
        with self._lock:
            if batch == len(self.batches) + 1:
                self._close_batch()
            if not 1 <= batch <= len(self.batches):
                return None
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(SDR_COLUMNS)
            writer.writerows(self.batches[batch - 1])
            return out.getvalue()

    def _row(self, m: Movement, created: str, batch: int) -> list[str]:
        gross = f"{m.amount_minor / 100:.2f}"  # the fakes' currencies have two decimals
        charge = m.kind == "charge"
        return [
            "TestCompany",
            MERCHANT_ACCOUNT,
            m.provider_id if charge else m.reference,
            m.reference if charge else "",
            "visa",
            created,
            "CET",
            "Settled" if charge else "Refunded",
            self.next_id("8817") if charge else m.provider_id,
            m.currency,
            "" if charge else gross,
            gross if charge else "",
            "1",
            m.currency,
            "" if charge else gross,
            gross if charge else "",
            "0",
            "0",
            "0",
            "0",
            "visa",
            "",
            str(batch),
        ]

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
