"""``StripeGateway``: the PaymentGateway port on the official ``stripe`` SDK (``StripeClient``).

- Charges are PaymentIntents created with ``confirm=true`` (one POST), carrying
  ``metadata[payment_id]`` so lookups (search) and webhooks name our payment.
- Every POST passes our ``idempotency_key`` explicitly: without it the SDK generates a random
  UUID per call, and a retry after a lost answer would charge twice.
- ``max_network_retries=0``: retrying is the core's decision (same key), never hidden here.
- One ``StripeClient`` per gateway (no global ``stripe.api_key``), on the SDK's httpx client
  with short connect/read timeouts, pointed at ``base_url`` (a local fake in tests).
- Errors become port errors; SDK exceptions never leave this module, and nothing is logged
  (the SDK's own logging stays off unless STRIPE_LOG is set, which production must not do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import httpx
import stripe

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
from core.shared.money import Money

from .minor_units import STRIPE
from .transport import http_failure, network_failure

PROVIDER = "stripe"
T = TypeVar("T")

_STATUSES = {
    "succeeded": ProviderStatus.CAPTURED,
    "requires_capture": ProviderStatus.AUTHORIZED,
    "processing": ProviderStatus.PROCESSING,
    "requires_action": ProviderStatus.REQUIRES_ACTION,
    "requires_payment_method": ProviderStatus.REQUIRES_ACTION,
    "requires_confirmation": ProviderStatus.REQUIRES_ACTION,
    "canceled": ProviderStatus.FAILED,
}
_REFUND_STATUSES = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
_METHOD_TYPES = {
    PaymentMethod.CARD: "card",
    PaymentMethod.SEPA_DEBIT: "sepa_debit",
    PaymentMethod.IDEAL: "ideal",
    PaymentMethod.PAYPAL: "paypal",
    PaymentMethod.BANK_TRANSFER: "customer_balance",
}
_SETTLEMENT_KINDS = {
    "charge": SettlementKind.CHARGE,
    "payment": SettlementKind.CHARGE,
    "refund": SettlementKind.REFUND,
    "payment_refund": SettlementKind.REFUND,
    # A transfer to a connected account is our payout (``payout`` answered its tr_… id); a
    # Stripe "payout" is the platform's balance going to the platform's own bank (po_…).
    "transfer": SettlementKind.PAYOUT,
    "payout": SettlementKind.WITHDRAWAL,
    "stripe_fee": SettlementKind.FEE,
    "fee": SettlementKind.FEE,
    "dispute": SettlementKind.CHARGEBACK,
}


@attrs.frozen(kw_only=True)
class StripeConfig:
    """``sandbox`` must agree with the key (``sk_test_``/``rk_test_`` vs ``_live_``), so a
    sandbox installation can never move live money. ``base_url`` None: Stripe's own."""

    api_key: str = attrs.field(repr=False)
    sandbox: bool = True
    base_url: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 20.0

    def __attrs_post_init__(self) -> None:
        mode = "test" if self.sandbox else "live"
        if not self.api_key.startswith((f"sk_{mode}_", f"rk_{mode}_")):
            raise ValueError(f"the Stripe key is not a {mode} key but the gateway is configured for {mode}")


class StripeGateway:
    """PaymentGateway on Stripe. Thread-safe (the SDK client is)."""

    def __init__(self, config: StripeConfig) -> None:
        self._http = http_client = stripe.HTTPXClient(
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout), allow_sync_methods=True
        )
        addresses: dict[str, Any] = {"api": config.base_url.rstrip("/")} if config.base_url else {}
        self._client = stripe.StripeClient(
            config.api_key,
            base_addresses=addresses,  # type: ignore[arg-type]  # the SDK types these as TypedDicts
            http_client=http_client,
            max_network_retries=0,
        )

    @property
    def name(self) -> str:
        return PROVIDER

    @property
    def reports_payouts(self) -> bool:
        return True  # a transfer's balance transaction has the transfer (tr_…) as its source

    def close(self) -> None:
        """Release the connection pool (the composition root calls it at shutdown)."""
        self._http.close()  # type: ignore[no-untyped-call]  # untyped in the SDK

    # -- the port ----------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": STRIPE.outbound(request.amount),
            "currency": request.amount.currency.code.lower(),
            "payment_method_types": [_METHOD_TYPES[request.method]],
            "metadata": {"payment_id": request.payment_id, "payer_id": request.payer_id},
        }
        if request.description:
            params["description"] = request.description[:1000]
        if request.payment_token:
            params.update(payment_method=request.payment_token, confirm=True)
            if request.return_url:
                params["return_url"] = request.return_url
        intent = self._call(
            lambda: self._client.v1.payment_intents.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            ),
            posts=True,
        )
        return _read(
            lambda: ChargeResult(
                provider=PROVIDER,
                provider_reference=str(intent["id"]),
                status=_status(intent.get("status")),
                amount=_money(intent["amount"], intent["currency"]),
                client_action=_client_action(intent),
            ),
            posts=True,
        )

    def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture an intent in ``requires_capture`` in full; an intent captured already
        (automatic capture) is refused by Stripe as ``payment_intent_unexpected_state``."""
        intent = self._call(
            lambda: self._client.v1.payment_intents.capture(
                request.provider_reference,
                {"metadata": {"payment_id": request.payment_id}},
                {"idempotency_key": request.idempotency_key},
            ),
            posts=True,
        )

        def result() -> ChargeResult:
            status = _status(intent.get("status"))
            taken = intent.get("amount_received") if status is ProviderStatus.CAPTURED else intent["amount"]
            return ChargeResult(
                provider=PROVIDER,
                provider_reference=str(intent["id"]),
                status=status,
                amount=_money(taken, intent["currency"]),
            )

        return _read(result, posts=True)

    def refund(self, request: RefundRequest) -> RefundResult:
        params: dict[str, Any] = {
            "payment_intent": request.provider_reference,
            "amount": STRIPE.outbound(request.amount),
            "metadata": {"payment_id": request.payment_id, "refund_id": request.refund_id},
        }
        refund = self._call(
            lambda: self._client.v1.refunds.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            ),
            posts=True,
        )
        return _read(
            lambda: RefundResult(
                provider_refund_reference=str(refund["id"]),
                status=_REFUND_STATUSES.get(str(refund.get("status")), RefundStatus.PENDING),
            ),
            posts=True,
        )

    def payout(self, request: PayoutRequest) -> PayoutResult:
        """A transfer from the platform balance to the payee's connected account
        (``destination`` = ``acct_…``); the connected account's own payout schedule takes it
        to the bank."""
        params: dict[str, Any] = {
            "amount": STRIPE.outbound(request.amount),
            "currency": request.amount.currency.code.lower(),
            "destination": request.destination,
            "metadata": {"payout_id": request.payout_id},
        }
        transfer = self._call(
            lambda: self._client.v1.transfers.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            ),
            posts=True,
        )
        return _read(
            lambda: PayoutResult(
                reference=str(transfer["id"]), status="reversed" if transfer.get("reversed") else "paid"
            ),
            posts=True,
        )

    def lookup(self, payment_id: PaymentId, provider_reference: str | None) -> ProviderPayment | None:
        """By reference (retrieve), else by ``metadata['payment_id']`` (search). Stripe's search
        is eventually consistent (usually under a minute), so the janitor's first look should
        wait minutes, as it does."""
        try:
            if provider_reference is not None:
                try:
                    intent = self._client.v1.payment_intents.retrieve(provider_reference).to_dict()
                except stripe.InvalidRequestError as error:
                    if error.http_status == 404:
                        return None  # Stripe has no such intent: it was never created
                    raise
            else:
                quoted = str(payment_id).replace("\\", "\\\\").replace("'", "\\'")
                query = f"metadata['payment_id']:'{quoted}'"
                intents = self._client.v1.payment_intents.search({"query": query}).to_dict().get("data") or []
                if not intents:
                    return None
                intent = intents[0]
        except stripe.StripeError:
            raise GatewayUnavailable(PROVIDER) from None  # a read that failed: cannot tell now
        return _read(lambda: _provider_payment(intent), posts=False)

    def refund_status(self, provider_refund_reference: str) -> RefundStatus | None:
        """``GET /v1/refunds/{id}`` (``refunds.retrieve``)."""
        try:
            refund = self._call(lambda: self._client.v1.refunds.retrieve(provider_refund_reference), posts=False)
        except GatewayDeclined:
            raise GatewayUnavailable(PROVIDER) from None  # Stripe does not know it (404): cannot tell now
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
        params: dict[str, Any] = {
            "created": {"gte": int(start.timestamp()), "lt": int(end.timestamp())},
            "limit": 100,
            "expand": ["data.source"],
        }
        rows = self._call(
            lambda: {"data": [t.to_dict() for t in _pages(self._client.v1.balance_transactions.list(params))]},  # type: ignore[arg-type]
            posts=False,
        )
        lines = _read(lambda: [_settlement_line(txn) for txn in rows["data"]], posts=False)
        return sorted(lines, key=lambda line: line.booked_at)

    # -- errors ------------------------------------------------------------------------

    def _call(self, call: Callable[[], Any], *, posts: bool) -> dict[str, Any]:
        """Run an SDK call, translating every SDK error into a port error; the answer as a
        plain dict (Stripe 16's objects are not dicts)."""
        try:
            answer = call()
            return answer if isinstance(answer, dict) else dict(answer.to_dict())
        except stripe.CardError as error:
            raise GatewayDeclined(PROVIDER, _reason(error)) from None
        except stripe.RateLimitError:
            raise GatewayUnavailable(PROVIDER) from None
        except (stripe.AuthenticationError, stripe.PermissionError):
            raise GatewayUnavailable(PROVIDER) from None  # our configuration: nothing was processed
        except stripe.IdempotencyError:
            # the key was used with another body (transport.KEY_REUSED_CODES): unknown outcome
            raise (GatewayOutcomeUnknown(PROVIDER) if posts else GatewayUnavailable(PROVIDER)) from None
        except stripe.InvalidRequestError as error:
            raise GatewayDeclined(PROVIDER, _reason(error)) from None
        except stripe.APIConnectionError as error:
            raise (network_failure(PROVIDER, error) if posts else GatewayUnavailable(PROVIDER)) from None
        except stripe.StripeError as error:
            status = error.http_status or 500
            answered = http_failure(PROVIDER, status, sent_safely=not posts)
            if answered is not None:
                raise answered from None
            if 400 <= status < 500:
                raise GatewayDeclined(PROVIDER, _reason(error)) from None
            raise (GatewayOutcomeUnknown(PROVIDER) if posts else GatewayUnavailable(PROVIDER)) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise (GatewayOutcomeUnknown(PROVIDER) if posts else GatewayUnavailable(PROVIDER)) from None


def _read(parse: Callable[[], T], *, posts: bool) -> T:
    """Parse an answer; one we cannot read is, for a POST, an unknown outcome."""
    try:
        return parse()
    except (InvalidInput, KeyError, TypeError, ValueError, AttributeError):
        raise (GatewayOutcomeUnknown(PROVIDER) if posts else GatewayUnavailable(PROVIDER)) from None


def _provider_payment(intent: dict[str, Any]) -> ProviderPayment:
    metadata = intent.get("metadata") or {}
    echoed = metadata.get("payment_id") if isinstance(metadata, dict) else None
    status = _status(intent.get("status"))
    # Captured: what Stripe took (a partial capture receives less than the intent's amount),
    # as the capture answer and the capture webhook say.
    taken = intent["amount_received"] if status is ProviderStatus.CAPTURED else intent["amount"]
    return ProviderPayment(
        provider=PROVIDER,
        provider_reference=str(intent["id"]),
        payment_id=PaymentId(str(echoed)) if echoed else None,
        status=status,
        amount=_money(taken, intent["currency"]),
    )


def _pages(listing: Any) -> Iterator[Any]:
    yield from listing.auto_paging_iter()


def _reason(error: stripe.StripeError) -> str:
    code = getattr(error, "code", None)
    body = error.json_body if isinstance(error.json_body, dict) else {}
    detail = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
    return str(detail.get("decline_code") or code or detail.get("type") or "declined")[:200]


def _status(status: str | None) -> ProviderStatus:
    return _STATUSES.get(status or "", ProviderStatus.PROCESSING)


def _money(minor: object, currency: object) -> Money:
    if isinstance(minor, bool) or not isinstance(minor, int) or not isinstance(currency, str):
        raise ValueError("not a Stripe amount")
    return STRIPE.inbound(minor, currency)


def _client_action(intent: dict[str, Any]) -> ClientAction | None:
    if intent.get("status") not in ("requires_action", "requires_payment_method", "requires_confirmation"):
        return None
    next_action = intent.get("next_action") or {}
    redirect = next_action.get("redirect_to_url") if isinstance(next_action, dict) else None
    if redirect and redirect.get("url"):
        return ClientAction(kind="redirect", url=str(redirect["url"]))
    secret = intent.get("client_secret")
    return ClientAction(kind="sdk", data={"client_secret": str(secret)} if secret else {})


def _settlement_line(txn: dict[str, Any]) -> SettlementLine:
    category = str(txn.get("reporting_category") or txn.get("type") or "")
    kind = _SETTLEMENT_KINDS.get(category, SettlementKind.ADJUSTMENT)
    code = str(txn["currency"])
    source = txn.get("source")
    reference = str(txn["id"])
    payment_id = None
    payout_id = None
    if isinstance(source, str):
        reference = source
    elif source is not None:
        # a charge is matched by its PaymentIntent (our payment's reference), a refund by
        # its own id, a payout by its transfer's id (what ``payout`` answered)
        own = source.get("id") or reference
        reference = str((source.get("payment_intent") or own) if kind is SettlementKind.CHARGE else own)
        metadata = source.get("metadata") or {}
        echoed = metadata.get("payment_id")
        payment_id = PaymentId(str(echoed)) if echoed else None
        ours = metadata.get("payout_id") if kind is SettlementKind.PAYOUT else None
        payout_id = str(ours) if ours else None
    return SettlementLine(
        provider_reference=reference,
        kind=kind,
        gross=STRIPE.inbound(abs(int(txn["amount"])), code),
        fee=STRIPE.inbound(abs(int(txn.get("fee") or 0)), code),
        net=STRIPE.inbound(abs(int(txn["net"])), code),
        booked_at=datetime.fromtimestamp(int(txn["created"]), UTC),
        payment_id=payment_id,
        payout_id=payout_id,
    )
