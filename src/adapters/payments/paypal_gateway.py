"""``PayPalGateway``: the PaymentGateway port on ``paypal-server-sdk`` (Orders v2, captures,
refunds, transaction search), with direct REST for payouts (the SDK has none).

- Charges are single-step orders: ``intent=CAPTURE`` with a vaulted payment source, created
  and captured in one call (PayPal makes ``PayPal-Request-Id`` mandatory there: ours is the
  payment's key). Without a token the order waits for the payer: REQUIRES_ACTION with the
  ``payer-action`` link. ``custom_id`` carries our payment id into captures and webhooks.
- The payment's provider reference is the **order** id. Refunds look the capture up on the
  order, then refund it with our refund key as ``PayPal-Request-Id``; ``custom_id`` = our
  payment id and ``invoice_id`` = our refund id come back in refund webhooks.
- Amounts go out as exact decimal strings, never floats; HUF and TWD (two decimals in ISO
  4217) only as whole units, as PayPal requires (``paypal_value``).
- The SDK is pointed at ``base_url`` by overriding ``Configuration.get_base_uri`` per client
  (the class-level environments table is not touched), retries off, short timeouts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
import requests
from paypalserversdk.configuration import Configuration, Environment
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from core.payments.domain import (
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    ClientAction,
    PaymentId,
    PaymentMethod,
    PayoutRequest,
    PayoutResult,
    ProviderPayment,
    ProviderStatus,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SettlementKind,
    SettlementLine,
)
from core.shared.errors import InvalidInput
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Currency, Money

from .paypal_rest import PayPalCredentials, PayPalRest, declined_from, default_base_url, json_of
from .transport import KEY_REUSED_CODES, http_failure, network_failure

PROVIDER = "paypal"
SEARCH_WINDOW = timedelta(days=31)  # the transaction search's longest range

_ORDER_STATUSES = {
    "COMPLETED": ProviderStatus.CAPTURED,
    "APPROVED": ProviderStatus.AUTHORIZED,  # the payer approved; ours to capture (``capture``)
    "SAVED": ProviderStatus.PROCESSING,
    "CREATED": ProviderStatus.REQUIRES_ACTION,
    "PAYER_ACTION_REQUIRED": ProviderStatus.REQUIRES_ACTION,
    "VOIDED": ProviderStatus.FAILED,
}
_REFUND_STATUSES = {
    "COMPLETED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.PENDING,
    "FAILED": RefundStatus.FAILED,
    "CANCELLED": RefundStatus.FAILED,
}


@attrs.frozen(kw_only=True)
class PayPalConfig:
    credentials: PayPalCredentials
    sandbox: bool = True
    base_url: str | None = None  # None: PayPal's own for the environment
    connect_timeout: float = 3.0
    read_timeout: float = 20.0
    return_url: str = "https://gigcore.invalid/payments/return"
    cancel_url: str = "https://gigcore.invalid/payments/cancel"

    @property
    def url(self) -> str:
        return (self.base_url or default_base_url(sandbox=self.sandbox)).rstrip("/")


class _PinnedConfiguration(Configuration):  # type: ignore[misc]  # the SDK is untyped
    """The SDK's configuration with the base URL of this one client."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        self._pinned_base_url = base_url
        super().__init__(**kwargs)

    def get_base_uri(self, server: Any = None) -> str:
        return self._pinned_base_url


class PayPalGateway:
    """PaymentGateway on PayPal. Thread-safe as far as the SDK's requests session is (calls
    are independent; the OAuth token is renewed by the SDK)."""

    def __init__(self, config: PayPalConfig, *, rest: PayPalRest | None = None) -> None:
        self._config = config
        sdk_config = _PinnedConfiguration(
            config.url,
            timeout=(config.connect_timeout, config.read_timeout),
            max_retries=0,
            environment=Environment.SANDBOX if config.sandbox else Environment.PRODUCTION,
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=config.credentials.client_id,
                o_auth_client_secret=config.credentials.client_secret,
            ),
        )
        self._sdk = PaypalServersdkClient(config=sdk_config)
        self._rest = rest or PayPalRest(
            base_url=config.url,
            credentials=config.credentials,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
        )

    @property
    def name(self) -> str:
        return PROVIDER

    @property
    def reports_payouts(self) -> bool:
        return True  # as T0001 lines naming our payout id (see ``_settlement_line``)

    def close(self) -> None:
        """Release the REST client's connection pool (the composition root calls it at shutdown)."""
        self._rest.close()

    # -- the port ----------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        unit: dict[str, Any] = {
            "reference_id": str(request.payment_id)[:256],
            "custom_id": str(request.payment_id)[:127],
            "amount": {"currency_code": request.amount.currency.code, "value": paypal_value(request.amount)},
        }
        if request.description:
            unit["description"] = request.description[:127]
        body: dict[str, Any] = {"intent": "CAPTURE", "purchase_units": [unit]}
        if request.payment_token:
            source = "card" if request.method is PaymentMethod.CARD else "paypal"
            body["payment_source"] = {source: {"vault_id": request.payment_token}}
        else:
            body["payment_source"] = {
                "paypal": {
                    "experience_context": {
                        "return_url": request.return_url or self._config.return_url,
                        "cancel_url": self._config.cancel_url,
                        "user_action": "PAY_NOW",
                    }
                }
            }
        order = self._call(
            lambda: self._sdk.orders.create_order(
                {
                    "body": body,
                    "paypal_request_id": request.idempotency_key,
                    "prefer": "return=representation",
                }
            ),
            posts=True,
        )
        status = _order_status(order)
        order_id = order.get("id")
        if not isinstance(order_id, str) or not order_id:
            raise GatewayOutcomeUnknown(PROVIDER)
        return ChargeResult(
            provider=PROVIDER,
            provider_reference=order_id,
            status=status,
            amount=request.amount,
            client_action=_client_action(order) if status is ProviderStatus.REQUIRES_ACTION else None,
            capture_reference=_capture_id(order),
        )

    def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture an order the payer approved (Orders v2 ``/capture``), with our capture key
        as ``PayPal-Request-Id``: a repeat answers the first capture. A second capture
        under another key is refused (ORDER_ALREADY_CAPTURED): the caller looks it up."""
        order = self._call(
            lambda: self._sdk.orders.capture_order(
                {
                    "id": request.provider_reference,
                    "body": {},
                    "paypal_request_id": request.idempotency_key,
                    "prefer": "return=representation",
                }
            ),
            posts=True,
        )
        status = _order_status(order)
        return ChargeResult(
            provider=PROVIDER,
            provider_reference=request.provider_reference,
            status=status,
            amount=_captured(order, request.amount.currency) if status is ProviderStatus.CAPTURED else request.amount,
            capture_reference=_capture_id(order),
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        order = self._call(lambda: self._sdk.orders.get_order({"id": request.provider_reference}), posts=False)
        captures = _captures(order)
        if not captures:
            raise GatewayDeclined(PROVIDER, "the order has no capture to refund")
        capture_id = str(captures[0].get("id"))
        refund = self._call(
            lambda: self._sdk.payments.refund_captured_payment(
                {
                    "capture_id": capture_id,
                    "body": {
                        "amount": {
                            "currency_code": request.amount.currency.code,
                            "value": paypal_value(request.amount),
                        },
                        "custom_id": str(request.payment_id)[:127],
                        "invoice_id": str(request.refund_id)[:127],
                    },
                    "paypal_request_id": request.idempotency_key,
                    "prefer": "return=representation",
                }
            ),
            posts=True,
        )
        reference = refund.get("id")
        if not isinstance(reference, str) or not reference:
            raise GatewayOutcomeUnknown(PROVIDER)
        return RefundResult(
            provider_refund_reference=reference,
            status=_REFUND_STATUSES.get(str(refund.get("status")), RefundStatus.PENDING),
        )

    def payout(self, request: PayoutRequest) -> PayoutResult:
        """Payouts v1 (direct REST): one item to ``destination`` (the payee's PayPal email,
        or ``PAYPAL_ID:<payer id>``). ``sender_batch_id`` = our payout id: PayPal refuses a
        second batch with it, a second guard next to ``PayPal-Request-Id``."""
        kind, receiver = (
            ("PAYPAL_ID", request.destination[10:])
            if request.destination.startswith("PAYPAL_ID:")
            else ("EMAIL", request.destination)
        )
        body = {
            "sender_batch_header": {"sender_batch_id": request.payout_id[:256], "email_subject": "You have a payout"},
            "items": [
                {
                    "recipient_type": kind,
                    "amount": {"value": paypal_value(request.amount), "currency": request.amount.currency.code},
                    "receiver": receiver,
                    "sender_item_id": request.payout_id[:63],
                }
            ],
        }
        response = self._rest.call(
            "POST", "/v1/payments/payouts", json_body=body, headers={"PayPal-Request-Id": request.idempotency_key}
        )
        if response.status_code >= 400:
            original = _original_batch(json_of(response)) if response.status_code == 400 else None
            if original is not None:
                # Our sender_batch_id (the payout id) was paid before, under another request id:
                # PayPal pays it once and names the original. That payout is this one.
                return PayoutResult(reference=original, status="pending")
            raise declined_from(response)
        header = json_of(response).get("batch_header")
        batch_id = header.get("payout_batch_id") if isinstance(header, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise GatewayOutcomeUnknown(PROVIDER)
        status = header.get("batch_status") if isinstance(header, dict) else None
        return PayoutResult(reference=batch_id, status=str(status or "PENDING").lower())

    def lookup(self, payment_id: PaymentId, provider_reference: str | None) -> ProviderPayment | None:
        """By order id. Without one PayPal cannot be asked (orders are not searchable by
        ``custom_id``), so the answer is "cannot tell": the capture webhook, which carries
        our payment id, resolves it."""
        if provider_reference is None:
            raise GatewayOutcomeUnknown(PROVIDER)
        try:
            order = self._sdk.orders.get_order({"id": provider_reference})
        except ApiException as error:
            if error.response_code == 404:
                return None  # PayPal has no such order: it was never created
            raise GatewayUnavailable(PROVIDER) from None  # cannot tell now
        except requests.exceptions.RequestException:
            raise GatewayUnavailable(PROVIDER) from None
        try:
            order = json.loads(order.text or "{}")
        except (ValueError, TypeError, AttributeError):
            raise GatewayUnavailable(PROVIDER) from None
        if not isinstance(order, dict):
            raise GatewayUnavailable(PROVIDER)
        units = order.get("purchase_units")
        unit = units[0] if isinstance(units, list) and units and isinstance(units[0], dict) else {}
        amount: dict[str, Any] = unit["amount"] if isinstance(unit.get("amount"), dict) else {}
        custom = unit.get("custom_id")
        try:
            money = Money.parse_decimal(str(amount.get("value")), Currency(str(amount.get("currency_code"))))
        except InvalidInput:
            raise GatewayUnavailable(PROVIDER) from None
        try:
            status = _order_status(order)
        except GatewayDeclined:
            status = ProviderStatus.FAILED  # its capture was declined
        except GatewayOutcomeUnknown:
            raise GatewayUnavailable(PROVIDER) from None  # a status we do not know: cannot tell
        if status is ProviderStatus.CAPTURED:
            try:
                money = _captured(order, money.currency)
            except GatewayOutcomeUnknown:
                raise GatewayUnavailable(PROVIDER) from None
        return ProviderPayment(
            provider=PROVIDER,
            provider_reference=provider_reference,
            payment_id=PaymentId(custom) if isinstance(custom, str) and custom else None,
            status=status,
            amount=money,
            capture_reference=_capture_id(order),
        )

    def refund_status(self, provider_refund_reference: str) -> RefundStatus | None:
        """``GET /v2/payments/refunds/{id}`` (the SDK's ``payments.get_refund``)."""
        try:
            refund = self._call(
                lambda: self._sdk.payments.get_refund({"refund_id": provider_refund_reference}), posts=False
            )
        except GatewayDeclined:
            raise GatewayUnavailable(PROVIDER) from None  # PayPal does not know it (404): cannot tell now
        status = _REFUND_STATUSES.get(str(refund.get("status")))
        if status is None:
            raise GatewayUnavailable(PROVIDER)  # a status we do not know: cannot tell
        return status

    def settlement_report(self, start: datetime, end: datetime) -> list[SettlementLine]:
        try:
            return self._settlement_report(start, end)
        except (GatewayDeclined, GatewayOutcomeUnknown):
            raise GatewayUnavailable(PROVIDER) from None  # a report that cannot be read now

    def _settlement_report(self, start: datetime, end: datetime) -> list[SettlementLine]:
        lines: list[SettlementLine] = []
        window_start = start
        while window_start < end:
            window_end = min(end, window_start + SEARCH_WINDOW)
            page, pages = 1, 1
            while page <= pages:
                query = {
                    "start_date": _rfc3339(window_start),
                    "end_date": _rfc3339(window_end),
                    "fields": "all",
                    "page_size": 500,
                    "page": page,
                }
                found = self._call(
                    lambda q=query: self._sdk.transaction_search.search_transactions(q),  # type: ignore[misc]
                    posts=False,
                )
                for detail in found.get("transaction_details") or []:
                    line = self._settlement_line(detail)
                    if line is not None and start <= line.booked_at < end:
                        lines.append(line)
                pages = int(found.get("total_pages") or 1)
                page += 1
            window_start = window_end
        return sorted(lines, key=lambda line: line.booked_at)

    def _settlement_line(self, detail: Any) -> SettlementLine | None:
        """One transaction as a settlement line; None for one that moved no money (yet).

        Payouts: each item of a payout batch is a T0001 (MassPay payment) debit, with a
        T0104 batch fee, a T1503 hold and its T1105 release around it, and T1114/T1115 if
        it is reversed or returned unclaimed. The line has the item's transaction id, never
        the ``payout_batch_id`` that ``payout`` answered; it is tied to our payout by
        ``custom_field``, where the report carries the item's ``sender_item_id`` (our
        payout id). An unclaimed item stays pending ("P") while its money is held out of
        the balance, so a pending T0001 counts as paid out."""
        info = detail.get("transaction_info") if isinstance(detail, dict) else None
        status = info.get("transaction_status") if isinstance(info, dict) else None
        if not isinstance(info, dict) or status not in ("S", "P", None):
            return None
        code = str(info.get("transaction_event_code") or "")
        try:
            amount = info["transaction_amount"]
            currency = Currency(str(amount["currency_code"]))
            gross = _minor(str(amount["value"]), currency)
            fee = _minor(str((info.get("fee_amount") or {}).get("value") or "0"), currency)
            booked_at = datetime.fromisoformat(str(info["transaction_initiation_date"])).astimezone(UTC)
        except (KeyError, TypeError, ValueError, InvalidInput, InvalidOperation):
            if status == "P":
                return None
            raise GatewayUnavailable(PROVIDER) from None
        kind = _settlement_kind(code, debit=gross < 0)
        if status == "P" and kind is not SettlementKind.PAYOUT:
            return None  # a pending charge or refund has not settled
        reference = str(info.get("transaction_id"))
        if kind is SettlementKind.CHARGE:
            reference = self._order_of_capture(reference) or reference
        custom = info.get("custom_field")
        echoed = custom if isinstance(custom, str) and custom else None
        payout = kind is SettlementKind.PAYOUT
        return SettlementLine(
            provider_reference=reference,
            kind=kind,
            gross=Money(abs(gross), currency),
            fee=Money(abs(fee), currency),
            net=Money(abs(gross) - abs(fee), currency),
            booked_at=booked_at,
            payment_id=PaymentId(echoed) if echoed and not payout else None,
            payout_id=echoed if payout else None,
        )

    def _order_of_capture(self, capture_id: str) -> str | None:
        """A charge line names the capture; our payment knows the order."""
        capture = self._call(lambda: self._sdk.payments.get_captured_payment({"capture_id": capture_id}), posts=False)
        related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
        order_id = related.get("order_id") if isinstance(related, dict) else None
        return order_id if isinstance(order_id, str) and order_id else None

    # -- errors ------------------------------------------------------------------------

    def _call(self, call: Callable[[], Any], *, posts: bool) -> dict[str, Any]:
        """Run an SDK call; returns the JSON body as a dict. Raises port errors only."""
        try:
            response = call()
        except ApiException as error:
            status = int(error.response_code or 500)
            answered = http_failure(PROVIDER, status, sent_safely=not posts)
            if answered is not None:
                raise answered from None
            if status in (401, 403):
                raise GatewayUnavailable(PROVIDER) from None  # our credentials: nothing was processed
            if posts and _issue(error) in KEY_REUSED_CODES:
                raise GatewayOutcomeUnknown(PROVIDER) from None
            raise GatewayDeclined(PROVIDER, _issue(error)) from None
        except requests.exceptions.RequestException as error:
            raise (network_failure(PROVIDER, error) if posts else GatewayUnavailable(PROVIDER)) from None
        try:
            body = json.loads(response.text or "{}")
        except (ValueError, TypeError, AttributeError):
            body = None
        if not isinstance(body, dict):
            raise GatewayOutcomeUnknown(PROVIDER) if posts else GatewayUnavailable(PROVIDER)
        return body


# PayPal refuses decimals in these although ISO 4217 gives them two (developer.paypal.com
# "Currency codes"); JPY has none in ISO already.
_WHOLE_UNITS_ONLY = frozenset({"HUF", "TWD"})


def paypal_value(money: Money) -> str:
    """The amount as PayPal wants it. Raises GatewayDeclined for an amount PayPal cannot
    express (a fraction of a HUF or TWD): final, no retry can change it."""
    if money.currency.code in _WHOLE_UNITS_ONLY:
        whole, fraction = divmod(money.minor, 10**money.currency.exponent)
        if fraction:
            raise GatewayDeclined(PROVIDER, f"PayPal takes whole {money.currency.code} amounts only")
        return str(whole)
    return money.to_decimal_string()


def _issue(error: ApiException) -> str:
    details = getattr(error, "details", None)
    if isinstance(details, list) and details:
        issue = getattr(details[0], "issue", None)
        if issue:
            return str(issue)[:200]
    return str(getattr(error, "name", None) or f"HTTP {error.response_code}")[:200]


def _order_status(order: dict[str, Any]) -> ProviderStatus:
    status = _ORDER_STATUSES.get(str(order.get("status")))
    if status is None:
        raise GatewayOutcomeUnknown(PROVIDER)
    if status is ProviderStatus.CAPTURED:
        captures = _captures(order)
        states = {str(c.get("status")) for c in captures}
        if states & {"DECLINED", "FAILED"}:
            raise GatewayDeclined(PROVIDER, "capture declined")
        if "PENDING" in states:
            return ProviderStatus.PROCESSING
    return status


def _captures(order: dict[str, Any]) -> list[dict[str, Any]]:
    units = order.get("purchase_units")
    if not isinstance(units, list):
        return []
    found: list[dict[str, Any]] = []
    for unit in units:
        payments = unit.get("payments") if isinstance(unit, dict) else None
        captures = payments.get("captures") if isinstance(payments, dict) else None
        if isinstance(captures, list):
            found.extend(c for c in captures if isinstance(c, dict))
    return found


# Capture statuses of money taken: refunds turn COMPLETED into (PARTIALLY_)REFUNDED.
_TOOK_MONEY = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED", None})


def _captured(order: dict[str, Any], currency: Currency) -> Money:
    """What the order's completed captures took (in ``currency`` when they all agree); a
    capture refunded since took it all the same (its amount stays what it captured).
    Raises GatewayOutcomeUnknown for an amount it cannot read."""
    total: Money | None = None
    for capture in _captures(order):
        if capture.get("status") not in _TOOK_MONEY:
            continue
        amount = capture.get("amount")
        if not isinstance(amount, dict):
            raise GatewayOutcomeUnknown(PROVIDER)
        try:
            taken = Money.parse_decimal(str(amount.get("value")), Currency(str(amount.get("currency_code"))))
        except InvalidInput:
            raise GatewayOutcomeUnknown(PROVIDER) from None
        if total is not None and taken.currency != total.currency:
            raise GatewayOutcomeUnknown(PROVIDER)
        total = taken if total is None else Money(total.minor + taken.minor, total.currency)
    return total if total is not None else Money(0, currency)


def _capture_id(order: dict[str, Any]) -> str | None:
    """The id of the order's (first) capture: PayPal's refunds name it, not the order."""
    for capture in _captures(order):
        capture_id = capture.get("id")
        if isinstance(capture_id, str) and capture_id:
            return capture_id
    return None


_PAYOUT_LINK = re.compile(r"/v1/payments/payouts/([A-Za-z0-9]+)$")


def _original_batch(error: dict[str, Any]) -> str | None:
    """The payout batch a "sender_batch_id already used" refusal links to (PayPal rejects a
    reused sender_batch_id with a HATEOAS link to the original payout); None otherwise."""
    if error.get("name") != "USER_BUSINESS_ERROR":
        return None
    for link in error.get("links") or []:
        href = link.get("href") if isinstance(link, dict) else None
        found = _PAYOUT_LINK.search(href) if isinstance(href, str) else None
        if found:
            return found.group(1)
    return None


def _client_action(order: dict[str, Any]) -> ClientAction:
    for link in order.get("links") or []:
        if isinstance(link, dict) and link.get("rel") in ("payer-action", "approve") and link.get("href"):
            return ClientAction(kind="redirect", url=str(link["href"]), data={"order_id": str(order.get("id"))})
    return ClientAction(kind="sdk", data={"order_id": str(order.get("id"))})


# Payout events that move no money of a payout (a hold's release) or that undo one
# (MassPay reversal, an unclaimed item returned): not refunds of a payment. A returned
# payout is not matched here (escrow has no "returned" state to match it against).
_PAYOUT_ADJUSTMENTS = frozenset({"T1105", "T1114", "T1115"})


def _settlement_kind(code: str, *, debit: bool) -> SettlementKind:
    if code == "T0001" and debit:
        return SettlementKind.PAYOUT  # a MassPay (Payouts) item we sent
    if code in _PAYOUT_ADJUSTMENTS:
        return SettlementKind.ADJUSTMENT
    if code.startswith("T11"):
        return SettlementKind.REFUND
    if code.startswith("T12"):
        return SettlementKind.CHARGEBACK
    if code.startswith("T01"):
        return SettlementKind.FEE
    if code.startswith("T00"):
        return SettlementKind.CHARGE
    return SettlementKind.ADJUSTMENT


def _minor(value: str, currency: Currency) -> int:
    return int(Decimal(value).scaleb(currency.exponent).to_integral_value())


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
