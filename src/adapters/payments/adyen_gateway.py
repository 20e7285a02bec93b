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
- Settlement (reconciliation): the gateway finds the Settlement details report files
  itself rather than remembering REPORT_AVAILABLE webhooks (no store to keep, nothing lost
  when a notification is missed). Adyen names them ``settlement_detail_report_batch_<n>.csv``
  with ``n`` counting up from 1 and serves them, with the report user's key, under
  ``/reports/download/MerchantAccount/<account>/`` on the Customer Area host
  (``ca-test.adyen.com``, ``ca-live.adyen.com``; ``base_url`` in tests). The gateway
  downloads batch ``first_report_batch``, the next, ... until one is not there (404), and
  keeps the lines booked in the period (batches settle after their transactions, so any
  file may hold any day's lines). Capped at ``max_report_batches`` files per report (more:
  GatewayUnavailable, never a silently short report). ``report_urls``, when given,
  overrides the walk with an explicit list. The key goes only to Adyen's hosts (or the
  configured base URL) and is never logged.
- A batch followed by a later one is closed and never changes: the gateway keeps it in a
  ``ReportCache`` (``adyen_report_cache``; in memory, or files under ``report_cache_dir``)
  with the booking times it covers. A later report reads closed batches from the cache,
  skips those holding nothing booked in its period without reading them (the cap counts
  only the files read), and downloads only the batches it has not kept: the newest, which
  may still grow, every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, overload
from urllib.parse import quote, urlsplit

import attrs
import httpx
import requests
from Adyen.client import AdyenClient
from Adyen.exceptions import AdyenAPIResponseError, AdyenError
from Adyen.services.checkout.modifications_api import ModificationsApi
from Adyen.services.checkout.payments_api import PaymentsApi
from Adyen.services.transfers.transfers_api import TransfersApi

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
    SettlementLine,
)
from core.shared.gateways import GatewayDeclined, GatewayOutcomeUnknown, GatewayUnavailable
from core.shared.money import Money

from .adyen_report_cache import BatchCoverage, DirectoryReportCache, MemoryReportCache, ReportCache
from .adyen_settlement import UnreadableReport, lines_between, parse_settlement_details
from .minor_units import ADYEN
from .transport import KEY_REUSED_CODES, http_failure, network_failure

PROVIDER = "adyen"
CHECKOUT_VERSION = "v72"
TRANSFERS_VERSION = "v4"
REPORT_HOSTS = {True: "https://ca-test.adyen.com", False: "https://ca-live.adyen.com"}  # by sandbox
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
    # Explicit SDR file URLs for a period, instead of walking the batches (None: walk them).
    report_urls: Callable[[datetime, datetime], Sequence[str]] | None = attrs.field(default=None, eq=False)
    report_api_key: str | None = attrs.field(default=None, repr=False)  # the report user's key, if different
    first_report_batch: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    max_report_batches: int = attrs.field(default=1000, validator=attrs.validators.ge(1))
    report_cache_dir: str | None = None  # where closed batch files are kept (None: in memory)

    def __attrs_post_init__(self) -> None:
        if not self.sandbox and self.base_url is None and not self.live_endpoint_prefix:
            raise ValueError("Adyen live needs live_endpoint_prefix (or an explicit base_url)")


class AdyenGateway:
    """PaymentGateway on Adyen. Thread-safe: the SDK sends each request on its own."""

    def __init__(self, config: AdyenConfig, *, report_cache: ReportCache | None = None) -> None:
        self._config = config
        if report_cache is None:
            report_cache = (
                DirectoryReportCache(config.report_cache_dir) if config.report_cache_dir else MemoryReportCache()
            )
        self._report_cache = report_cache
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

    @property
    def reports_payouts(self) -> bool:
        # Payouts are balance-platform transfers, reported in the Balance Platform
        # accounting report, not in the merchant account's settlement details read here
        # (``adyen_settlement``): matching them would call every payout missing theirs.
        return False

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

    def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture a payment authorised without automatic capture (``/payments/{psp}/captures``).
        Adyen answers "received": PROCESSING until its CAPTURE webhook says it happened."""
        body = {
            "amount": _amount(request.amount),
            "merchantAccount": self._config.merchant_account,
            "reference": str(request.payment_id),
        }
        answer = self._call(
            lambda: self._modifications.capture_authorised_payment(
                body, request.provider_reference, idempotency_key=request.idempotency_key
            ),
            posts=True,
        )
        if not isinstance(answer.get("pspReference"), str) or str(answer.get("status")) != "received":
            raise GatewayOutcomeUnknown(PROVIDER)
        return ChargeResult(
            provider=PROVIDER,
            provider_reference=request.provider_reference,
            status=ProviderStatus.PROCESSING,
            amount=request.amount,
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

    def refund_status(self, provider_refund_reference: str) -> RefundStatus | None:
        """None: Adyen has no refund lookup (a refund answers "received" and only its REFUND
        / REFUND_FAILED webhook tells the outcome), so the janitor cannot ask; a refund
        whose webhook is lost is alerted at the daily step."""
        return None

    def settlement_report(self, start: datetime, end: datetime) -> list[SettlementLine]:
        """The lines of the Settlement details report files booked in ``[start, end)``,
        parsed (``adyen_settlement``): every batch file from ``first_report_batch`` on
        (or the ``report_urls`` given, never cached), closed ones from the report cache.
        Raises GatewayUnavailable (a download failed, a file is unreadable, or more than
        ``max_report_batches`` files to read)."""
        if self._config.report_urls is None:
            return self._batch_lines(start, end)
        texts = [self._download(url) for url in self._config.report_urls(start, end)]
        try:
            return lines_between(texts, start, end)
        except UnreadableReport:
            raise GatewayUnavailable(PROVIDER) from None

    def report_url(self, batch: int) -> str:
        """Where Adyen serves the Settlement details report of ``batch``."""
        host = self._config.base_url.rstrip("/") if self._config.base_url else REPORT_HOSTS[self._config.sandbox]
        folder = f"{host}/reports/download/MerchantAccount/{quote(self._config.merchant_account, safe='')}"
        return f"{folder}/settlement_detail_report_batch_{batch}.csv"

    def _batch_lines(self, start: datetime, end: datetime) -> list[SettlementLine]:
        """Walk the batches from ``first_report_batch`` until one is missing. A batch is
        known closed when the cache has it or a later batch exists; a downloaded batch is
        kept once it is known closed (the last one found, the newest, never is)."""
        cache = self._report_cache
        found: list[SettlementLine] = []
        unclosed: tuple[str, str, BatchCoverage] | None = None  # the last download, not yet closed
        reads = 0
        batch = self._config.first_report_batch
        while True:
            url = self.report_url(batch)
            batch += 1
            kept = cache.coverage(url)
            if kept is not None and unclosed is not None:
                cache.keep(*unclosed)  # a later batch exists
                unclosed = None
            if kept is not None and not kept.meets(start, end):
                continue  # closed, and nothing in it is booked in the period: not read
            if reads == self._config.max_report_batches:
                raise GatewayUnavailable(PROVIDER)  # too many files to read in one report
            reads += 1
            lines = self._kept_lines(url) if kept is not None else None
            if lines is None:
                text = self._download(url, absent_ok=True)
                if text is None:
                    break
                try:
                    lines = parse_settlement_details(text)
                except UnreadableReport:
                    raise GatewayUnavailable(PROVIDER) from None
                if unclosed is not None:
                    cache.keep(*unclosed)
                unclosed = (url, text, BatchCoverage.of(lines))
                if kept is not None:  # closed already (its cached copy was unreadable)
                    cache.keep(*unclosed)
                    unclosed = None
            found.extend(line for line in lines if start <= line.booked_at < end)
        return sorted(found, key=lambda line: line.booked_at)

    def _kept_lines(self, url: str) -> list[SettlementLine] | None:
        """The lines of the cached closed batch at ``url``; None when it is not readable."""
        text = self._report_cache.text(url)
        if text is None:
            return None
        try:
            return parse_settlement_details(text)
        except UnreadableReport:
            return None

    @overload
    def _download(self, url: str) -> str: ...
    @overload
    def _download(self, url: str, *, absent_ok: bool) -> str | None: ...
    def _download(self, url: str, *, absent_ok: bool = False) -> str | None:
        """The file's text; None when ``absent_ok`` and the file is not there (404)."""
        if not self._trusted_report_url(url):
            raise GatewayUnavailable(PROVIDER)
        key = self._config.report_api_key or self._config.api_key
        timeout = httpx.Timeout(self._config.read_timeout, connect=self._config.connect_timeout)
        try:
            response = httpx.get(url, headers={"x-api-key": key}, timeout=timeout, follow_redirects=False)
        except httpx.HTTPError:
            raise GatewayUnavailable(PROVIDER) from None
        if response.status_code == 404 and absent_ok:
            return None
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
            if posts and _reason(error) in KEY_REUSED_CODES:
                raise GatewayOutcomeUnknown(PROVIDER) from None
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
