"""``AdyenGateway``: the PaymentGateway port on the official ``Adyen`` SDK.

- Charges: Checkout ``/payments`` with our payment id as ``reference`` (Adyen's
  ``merchantReference``, echoed in every webhook), captured automatically (the merchant
  account's default immediate capture). A refused payment is an HTTP **200** with
  ``resultCode: Refused``; it is translated into GatewayDeclined here.
- Refunds: Checkout ``/payments/{pspReference}/refunds`` (asynchronous: PENDING until the
  REFUND webhook). Payouts: Balance Platform Transfers ``/transfers`` to the payee's transfer
  instrument.
- Every POST carries our ``Idempotency-Key``. The SDK's services are pointed at
  ``base_url`` (a local fake in tests) by overriding their ``baseUrl``; in live mode without
  a base URL the SDK builds the ``{prefix}-checkout-live`` URLs from ``live_endpoint_prefix``.
- Adyen has no API to read a payment back: ``lookup`` cannot tell and says so
  (GatewayOutcomeUnknown); the AUTHORISATION webhook, which carries our reference,
  resolves an unknown outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import httpx
import requests
from Adyen.client import AdyenClient
from Adyen.exceptions import AdyenAPIResponseError, AdyenError
from Adyen.services.checkout.modifications_api import ModificationsApi
from Adyen.services.checkout.payments_api import PaymentsApi
from Adyen.services.transfers.transfers_api import TransfersApi

from core.payments.domain import (
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
    SettlementLine,
)
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Money

from .adyen_settlement import UnreadableReport, lines_between
from .minor_units import ADYEN
from .transport import http_failure, network_failure

PROVIDER = "adyen"
CHECKOUT_VERSION = "v72"
TRANSFERS_VERSION = "v4"
T = TypeVar("T")

_METHOD_TYPES = {
    PaymentMethod.CARD: "scheme",
    PaymentMethod.SEPA_DEBIT: "sepadirectdebit",
    PaymentMethod.IDEAL: "ideal",
    PaymentMethod.PAYPAL: "paypal",
    PaymentMethod.BANK_TRANSFER: "bankTransfer_IBAN",
}
_ACTION_CODES = frozenset({"RedirectShopper", "IdentifyShopper", "ChallengeShopper", "PresentToShopper"})
_PROCESSING_CODES = frozenset({"Received", "Pending"})
_REFUSED_CODES = frozenset({"Refused", "Cancelled", "Error"})


@attrs.frozen(kw_only=True)
class AdyenConfig:
    api_key: str = attrs.field(repr=False)
    merchant_account: str
    sandbox: bool = True
    base_url: str | None = None
    live_endpoint_prefix: str | None = None  # required live without base_url
    balance_account_id: str | None = None  # the platform's balance account, for payouts
    transfers_api_key: str | None = attrs.field(default=None, repr=False)  # Balance Platform key, if different
    return_url: str = "https://gigcore.invalid/payments/return"
    connect_timeout: float = 3.0
    read_timeout: float = 20.0
    # The SDR files covering a period (their URLs, from REPORT_AVAILABLE webhooks); None: no reports.
    report_urls: Callable[[datetime, datetime], Sequence[str]] | None = attrs.field(default=None, eq=False)
    report_api_key: str | None = attrs.field(default=None, repr=False)  # the report user's key, if different

    def __attrs_post_init__(self) -> None:
        if not self.sandbox and self.base_url is None and not self.live_endpoint_prefix:
            raise ValueError("Adyen live needs live_endpoint_prefix (or an explicit base_url)")


class AdyenGateway:
    """PaymentGateway on Adyen. Thread-safe: the SDK sends each request on its own."""

    def __init__(self, config: AdyenConfig) -> None:
        self._config = config
        self._payments = PaymentsApi(client=self._client(config.api_key))
        self._modifications = ModificationsApi(client=self._client(config.api_key))
        self._transfers = TransfersApi(client=self._client(config.transfers_api_key or config.api_key))
        if config.base_url is not None:
            base = config.base_url.rstrip("/")
            self._payments.baseUrl = f"{base}/checkout/{CHECKOUT_VERSION}"
            self._modifications.baseUrl = f"{base}/checkout/{CHECKOUT_VERSION}"
            self._transfers.baseUrl = f"{base}/btl/{TRANSFERS_VERSION}"

    def _client(self, api_key: str) -> AdyenClient:
        client = AdyenClient(
            xapikey=api_key,
            merchant_account=self._config.merchant_account,
            platform="test" if self._config.sandbox else "live",
            live_endpoint_prefix=self._config.live_endpoint_prefix,
            http_force="requests",
            # requests takes (connect, read); the SDK passes it through untouched
            http_timeout=(self._config.connect_timeout, self._config.read_timeout),
        )
        return client

    @property
    def name(self) -> str:
        return PROVIDER

    def close(self) -> None:
        """Nothing pooled: the SDK opens a connection per request."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        method: dict[str, Any] = {"type": _METHOD_TYPES[request.method]}
        body: dict[str, Any] = {
            "amount": _amount(request.amount),
            "reference": str(request.payment_id),
            "merchantAccount": self._config.merchant_account,
            "shopperReference": request.payer_id,
            "countryCode": request.country,
            "returnUrl": request.return_url or self._config.return_url,
        }
        if request.payment_token:
            method["storedPaymentMethodId"] = request.payment_token
            body.update(shopperInteraction="ContAuth", recurringProcessingModel="CardOnFile")
        body["paymentMethod"] = method
        answer = self._call(lambda: self._payments.payments(body, idempotency_key=request.idempotency_key), posts=True)
        result_code = str(answer.get("resultCode") or "")
        psp = answer.get("pspReference")
        if result_code in _REFUSED_CODES:
            raise GatewayDeclined(PROVIDER, str(answer.get("refusalReason") or result_code.lower())[:200])
        if result_code == "Authorised":
            status = ProviderStatus.CAPTURED  # immediate automatic capture: no CAPTURE step follows
        elif result_code in _ACTION_CODES:
            status = ProviderStatus.REQUIRES_ACTION
        elif result_code in _PROCESSING_CODES:
            status = ProviderStatus.PROCESSING
        else:
            raise GatewayOutcomeUnknown(PROVIDER)
        if not isinstance(psp, str) or not psp:
            # an action without a pspReference yet is legal; key it by our reference meanwhile
            psp = f"ref:{request.payment_id}"
        return ChargeResult(
            provider=PROVIDER,
            provider_reference=psp,
            status=status,
            amount=request.amount,
            client_action=_client_action(answer) if status is ProviderStatus.REQUIRES_ACTION else None,
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        body = {
            "amount": _amount(request.amount),
            "merchantAccount": self._config.merchant_account,
            "reference": str(request.refund_id),
        }
        answer = self._call(
            lambda: self._modifications.refund_captured_payment(
                body, request.provider_reference, idempotency_key=request.idempotency_key
            ),
            posts=True,
        )
        reference = answer.get("pspReference")
        if not isinstance(reference, str) or not reference:
            raise GatewayOutcomeUnknown(PROVIDER)
        return RefundResult(provider_refund_reference=reference, status=RefundStatus.PENDING)

    def payout(self, request: PayoutRequest) -> PayoutResult:
        if not self._config.balance_account_id:
            raise GatewayUnavailable(PROVIDER)  # payouts are not configured on this installation
        body = {
            "amount": _amount(request.amount),
            "balanceAccountId": self._config.balance_account_id,
            "category": "bank",
            "counterparty": {"transferInstrumentId": request.destination},
            "reference": request.payout_id[:80],
            "referenceForBeneficiary": request.payout_id[:80],
        }
        answer = self._call(
            lambda: self._transfers.transfer_funds(body, idempotency_key=request.idempotency_key), posts=True
        )
        reference = answer.get("id")
        if not isinstance(reference, str) or not reference:
            raise GatewayOutcomeUnknown(PROVIDER)
        status = str(answer.get("status") or "received")
        if status in ("refused", "failed", "rejected"):
            raise GatewayDeclined(PROVIDER, str(answer.get("reason") or status)[:200])
        return PayoutResult(reference=reference, status=status)

    def lookup(self, payment_id: PaymentId, provider_reference: str | None) -> ProviderPayment | None:
        raise GatewayOutcomeUnknown(PROVIDER)

    def settlement_report(self, start: datetime, end: datetime) -> list[SettlementLine]:
        """The Settlement details report files ``report_urls`` names for the period, parsed
        (``adyen_settlement``). Downloads only from Adyen's hosts (or the configured base
        URL): a report URL comes from a webhook, and the download carries our key."""
        if self._config.report_urls is None:
            raise GatewayUnavailable(PROVIDER)
        texts = [self._download(url) for url in self._config.report_urls(start, end)]
        try:
            return lines_between(texts, start, end)
        except UnreadableReport:
            raise GatewayUnavailable(PROVIDER) from None

    def _download(self, url: str) -> str:
        if not self._trusted_report_url(url):
            raise GatewayUnavailable(PROVIDER)
        key = self._config.report_api_key or self._config.api_key
        timeout = httpx.Timeout(self._config.read_timeout, connect=self._config.connect_timeout)
        try:
            response = httpx.get(url, headers={"x-api-key": key}, timeout=timeout, follow_redirects=False)
        except httpx.HTTPError:
            raise GatewayUnavailable(PROVIDER) from None
        if response.status_code != 200:
            raise GatewayUnavailable(PROVIDER)
        return response.text

    def _trusted_report_url(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        if self._config.base_url is not None:
            base = urlsplit(self._config.base_url)
            return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        host = parts.hostname or ""
        return parts.scheme == "https" and not parts.username and (host == "adyen.com" or host.endswith(".adyen.com"))

    def _call(self, call: Callable[[], Any], *, posts: bool) -> dict[str, Any]:
        try:
            result = call()
        except AdyenAPIResponseError as error:
            status = int(error.status_code) if str(error.status_code).isdigit() else 500
            answered = http_failure(PROVIDER, status, sent_safely=not posts)
            if answered is not None:
                raise answered from None
            if status in (401, 403):
                raise GatewayUnavailable(PROVIDER) from None  # our credentials: nothing was processed
            raise GatewayDeclined(PROVIDER, _reason(error)) from None
        except AdyenError:
            raise GatewayUnavailable(PROVIDER) from None  # configuration refused before sending
        except requests.exceptions.RequestException as error:
            raise (network_failure(PROVIDER, error) if posts else GatewayUnavailable(PROVIDER)) from None
        message = getattr(result, "message", None)
        if not isinstance(message, dict):
            raise GatewayOutcomeUnknown(PROVIDER) if posts else GatewayUnavailable(PROVIDER)
        return message


def _amount(money: Money) -> dict[str, Any]:
    return {"value": ADYEN.outbound(money), "currency": money.currency.code}


def _reason(error: AdyenAPIResponseError) -> str:
    message = error.message
    if isinstance(message, dict):
        return str(message.get("errorCode") or message.get("message") or message.get("title") or "refused")[:200]
    return f"HTTP {error.status_code}"


def _client_action(answer: dict[str, Any]) -> ClientAction:
    action = answer.get("action")
    if isinstance(action, dict):
        url = action.get("url")
        if isinstance(url, str) and action.get("type") == "redirect":
            return ClientAction(kind="redirect", url=url)
        return ClientAction(kind="sdk", data={k: str(v) for k, v in action.items() if isinstance(v, str)})
    return ClientAction(kind="sdk")
