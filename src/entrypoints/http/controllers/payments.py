"""Payments through the providers: a client's top-up, reading a payment, refunds (support,
finance) and provider reconciliation (finance)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from attrs import frozen
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from core.payments.domain import (
    ClientAction,
    EscrowTarget,
    PaymentId,
    PaymentMethod,
    PaymentView,
    RefundId,
    RefundView,
)
from core.payments.use_cases.capture_payment import CapturePayment, CapturePaymentCommand
from core.payments.use_cases.get_payment import GetPayment, GetPaymentQuery
from core.payments.use_cases.reconcile_provider import ReconcileProvider, ReconcileProviderCommand
from core.payments.use_cases.record_payment_outcome import (
    PaymentOutcome,
    RecordPaymentOutcome,
    RecordPaymentOutcomeCommand,
)
from core.payments.use_cases.record_refund_outcome import (
    RecordRefundOutcome,
    RecordRefundOutcomeCommand,
    RefundOutcome,
)
from core.payments.use_cases.refund_payment import RefundPayment, RefundPaymentCommand
from core.payments.use_cases.start_top_up import StartTopUp, StartTopUpCommand
from core.shared.actor import Actor
from core.shared.errors import InvalidInput
from core.shared.ids import CorrelationId, IdempotencyKey
from core.shared.money import Money
from entrypoints import exports, reconciliation_report
from entrypoints.container import Runtime
from entrypoints.http.errors import problem_responses
from entrypoints.http.mappers import money_body, money_from_body, utc
from entrypoints.http.schemas import MoneyBody

_WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422, 503)
_READ = problem_responses(400, 401, 403, 404, 422, 503)

USE_CASES = (
    "start_top_up",
    "capture_payment",
    "get_payment",
    "refund_payment",
    "record_refund_outcome",
    "record_payment_outcome",
    "reconcile_provider",
)


def payments_dependencies(runtime: Runtime) -> dict[str, Provide]:
    """One provider per payments use case, resolved from ``runtime`` at call time."""

    def provide(name: str) -> Callable[[], Any]:
        def provider() -> Any:
            return getattr(runtime.use_cases, name)()

        provider.__name__ = f"provide_{name}"
        return provider

    return {name: Provide(provide(name), sync_to_thread=False) for name in USE_CASES}


# ---- wire schemas -----------------------------------------------------------------


@frozen(kw_only=True)
class EscrowTargetBody:
    contract_id: str
    milestone_id: str


@frozen(kw_only=True)
class TopUpRequest:
    """``payment_token`` is the provider's token of the payment instrument (``pm_…``, a
    stored payment method, a PayPal vault id), never card data."""

    amount: MoneyBody
    method: str = "card"
    country: str
    payment_token: str | None = None
    return_url: str | None = None
    escrow: EscrowTargetBody | None = None


@frozen(kw_only=True)
class RefundRequest:
    amount: MoneyBody
    reason: str


@frozen(kw_only=True)
class RefundOutcomeRequest:
    """What the provider's dashboard shows: ``succeeded`` or ``failed``, why you say so,
    and the refund's reference there when it has one."""

    status: str
    reason: str
    provider_reference: str | None = None


@frozen(kw_only=True)
class PaymentOutcomeRequest:
    """What the provider's dashboard shows: ``captured`` (with the ``amount`` it took, in the
    payment's currency, and the payment's ``provider_reference`` there) or ``failed``, and why
    you say so."""

    status: str
    reason: str
    amount: MoneyBody | None = None
    provider_reference: str | None = None


@frozen(kw_only=True)
class ReconciliationRequest:
    provider: str
    start: str  # a day (midnight UTC) or an instant with an offset, included
    end: str  # excluded; at most 31 days after start


@frozen(kw_only=True)
class ClientActionResponse:
    kind: str
    url: str | None
    data: dict[str, str]


@frozen(kw_only=True)
class RefundResponse:
    refund_id: str
    amount: MoneyBody
    status: str
    provider_reference: str | None


@frozen(kw_only=True)
class PaymentResponse:
    payment_id: str
    payer_id: str
    purpose: str
    amount: MoneyBody
    status: str
    provider: str | None
    provider_reference: str | None
    client_action: ClientActionResponse | None
    failure_reason: str
    refunded: MoneyBody
    refunds: tuple[RefundResponse, ...]
    created_at: datetime
    credited: MoneyBody  # what reached the payer's wallet: what the provider took, up to `amount`


@frozen(kw_only=True)
class RefundResultResponse:
    refund_id: str
    status: str
    payment: PaymentResponse


# ---- mappers ----------------------------------------------------------------------


def _method(text: str) -> PaymentMethod:
    try:
        return PaymentMethod(text)
    except ValueError:
        raise InvalidInput("method", f"one of {', '.join(m.value for m in PaymentMethod)}") from None


def _refund_outcome(text: str) -> RefundOutcome:
    try:
        return RefundOutcome(text)
    except ValueError:
        raise InvalidInput("status", "succeeded or failed") from None


def _payment_outcome(text: str) -> PaymentOutcome:
    try:
        return PaymentOutcome(text)
    except ValueError:
        raise InvalidInput("status", "captured or failed") from None


def _action(action: ClientAction | None) -> ClientActionResponse | None:
    if action is None:
        return None
    return ClientActionResponse(kind=action.kind, url=action.url, data=dict(action.data))


def _refund(view: RefundView) -> RefundResponse:
    return RefundResponse(
        refund_id=view.refund_id,
        amount=money_body(view.amount),
        status=view.status.value,
        provider_reference=view.provider_reference,
    )


def payment_response(view: PaymentView) -> PaymentResponse:
    return PaymentResponse(
        payment_id=view.payment_id,
        payer_id=view.payer_id,
        purpose=view.purpose.value,
        amount=money_body(view.amount),
        status=view.status.value,
        provider=view.provider,
        provider_reference=view.provider_reference,
        client_action=_action(view.client_action),
        failure_reason=view.failure_reason,
        refunded=money_body(view.refunded),
        refunds=tuple(_refund(r) for r in view.refunds),
        created_at=utc(view.created_at),
        credited=money_body(view.credited if view.credited is not None else Money.zero(view.amount.currency)),
    )


def _wants_csv(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


# ---- routes -----------------------------------------------------------------------


class PaymentsController(Controller):
    path = "/payments"
    tags = ["payments"]

    @post("/top-ups", sync_to_thread=True, operation_id="startTopUp", responses=_WRITE)
    def top_up(
        self,
        *,
        data: JSONBody[TopUpRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        start_top_up: NamedDependency[StartTopUp],
    ) -> PaymentResponse:
        """Top up your own wallet through a payment provider (clients). The provider is
        chosen by currency, country and method, falling back to the next one when a
        provider is unavailable, never charging twice. The answer's `status` is
        `captured` (the wallet is credited), `requires_action` (follow `client_action`),
        `created`/`authorized` (a webhook finishes it), `unknown` (being checked with the
        provider) or `failed` (with `failure_reason`)."""
        escrow = (
            None
            if data.escrow is None
            else EscrowTarget(contract_id=data.escrow.contract_id, milestone_id=data.escrow.milestone_id)
        )
        command = StartTopUpCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            amount=money_from_body(data.amount),
            method=_method(data.method),
            country=data.country,
            payment_token=data.payment_token,
            return_url=data.return_url,
            escrow=escrow,
        )
        return payment_response(start_top_up(command))

    @post(
        "/{payment_id:str}/capture",
        status_code=200,
        sync_to_thread=True,
        operation_id="capturePayment",
        responses=_WRITE,
    )
    def capture(
        self,
        *,
        payment_id: FromPath[str],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        capture_payment: NamedDependency[CapturePayment],
    ) -> PaymentResponse:
        """Take a payment you approved at the provider now (its payer, back from PayPal's
        approval page). Answers the payment: `captured` (the wallet is credited),
        `authorized` (the provider did not answer yet: it is captured shortly, never twice),
        `requires_action` (the provider has no approval yet) or `failed`. Safe to repeat;
        without this call the payment is captured anyway when the provider tells us."""
        command = CapturePaymentCommand(
            by=actor, idempotency_key=idempotency_key, correlation_id=correlation_id, payment_id=PaymentId(payment_id)
        )
        return payment_response(capture_payment(command))

    @get("/{payment_id:str}", sync_to_thread=True, operation_id="getPayment", responses=_READ)
    def read(
        self, payment_id: FromPath[str], actor: NamedDependency[Actor], get_payment: NamedDependency[GetPayment]
    ) -> PaymentResponse:
        """A payment with its refunds: for its payer, and for support, finance and admin."""
        return payment_response(get_payment(GetPaymentQuery(by=actor, payment_id=PaymentId(payment_id))))

    @post("/{payment_id:str}/refunds", sync_to_thread=True, operation_id="refundPayment", responses=_WRITE)
    def refund(
        self,
        *,
        payment_id: FromPath[str],
        data: JSONBody[RefundRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        refund_payment: NamedDependency[RefundPayment],
    ) -> RefundResultResponse:
        """Refund (part of) a captured payment to its payer through the provider that took
        it (support, finance). The amount leaves the payer's wallet at once; a provider
        that declines returns it. A 503 means the provider did not answer: retry with the
        same Idempotency-Key."""
        command = RefundPaymentCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            payment_id=PaymentId(payment_id),
            amount=money_from_body(data.amount),
            reason=data.reason,
        )
        result = refund_payment(command)
        return RefundResultResponse(
            refund_id=result.refund_id, status=result.status.value, payment=payment_response(result.payment)
        )

    @post(
        "/{payment_id:str}/refunds/{refund_id:str}/outcome",
        status_code=200,
        sync_to_thread=True,
        operation_id="recordRefundOutcome",
        responses=_WRITE,
    )
    def refund_outcome(
        self,
        *,
        payment_id: FromPath[str],
        refund_id: FromPath[str],
        data: JSONBody[RefundOutcomeRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        record_refund_outcome: NamedDependency[RecordRefundOutcome],
    ) -> RefundResultResponse:
        """Record the final outcome of a refund still `pending` as the provider's dashboard
        shows it (finance), when no answer or webhook will: `failed` books the amount back
        to the payer's wallet once; `succeeded` keeps it refunded. Applied as the provider's
        answer would be; a 409 `refund_not_pending` means it is final already."""
        command = RecordRefundOutcomeCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            payment_id=PaymentId(payment_id),
            refund_id=RefundId(refund_id),
            status=_refund_outcome(data.status),
            reason=data.reason,
            provider_reference=data.provider_reference,
        )
        result = record_refund_outcome(command)
        return RefundResultResponse(
            refund_id=result.refund_id, status=result.status.value, payment=payment_response(result.payment)
        )

    @post(
        "/{payment_id:str}/outcome",
        status_code=200,
        sync_to_thread=True,
        operation_id="recordPaymentOutcome",
        responses=_WRITE,
    )
    def payment_outcome(
        self,
        *,
        payment_id: FromPath[str],
        data: JSONBody[PaymentOutcomeRequest],
        actor: NamedDependency[Actor],
        idempotency_key: NamedDependency[IdempotencyKey],
        correlation_id: NamedDependency[CorrelationId],
        record_payment_outcome: NamedDependency[RecordPaymentOutcome],
    ) -> PaymentResponse:
        """Record the final outcome of a payment still `unknown` or `created` as the
        provider's dashboard shows it (finance), when no lookup or webhook will: `captured`
        credits the payer's wallet once with what the provider took (never more than the
        payment's amount), `failed` credits nothing. Applied as a lookup's answer would be;
        a 409 `payment_not_unresolved` means the provider answered already."""
        command = RecordPaymentOutcomeCommand(
            by=actor,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
            payment_id=PaymentId(payment_id),
            status=_payment_outcome(data.status),
            reason=data.reason,
            amount=None if data.amount is None else money_from_body(data.amount),
            provider_reference=data.provider_reference,
        )
        return payment_response(record_payment_outcome(command).payment)


@post(
    "/reconciliations",
    status_code=200,
    sync_to_thread=True,
    operation_id="reconcileProvider",
    tags=["payments"],
    responses=_WRITE,
)
def reconcile(
    *,
    request: Request[Any, Any, Any],
    data: JSONBody[ReconciliationRequest],
    actor: NamedDependency[Actor],
    idempotency_key: NamedDependency[IdempotencyKey],
    correlation_id: NamedDependency[CorrelationId],
    reconcile_provider: NamedDependency[ReconcileProvider],
    fmt: Annotated[
        Literal["json", "csv"] | None,
        QueryParameter(name="format", description="json or csv (default: by the Accept header, else json)"),
    ] = None,
) -> Stream:
    """Match a provider's settlement report for [start, end) against our captures and
    refunds (finance): matched, missing on our side, missing on theirs, amount mismatch.
    Any discrepancy raises an alert event. JSON (counts and items) or CSV (one row per
    item), chosen by `format` or the Accept header."""
    command = ReconcileProviderCommand(
        by=actor,
        idempotency_key=idempotency_key,
        correlation_id=correlation_id,
        provider=data.provider,
        start=exports.parse_moment("start", data.start),
        end=exports.parse_moment("end", data.end),
    )
    report = reconcile_provider(command)
    chosen = fmt or ("csv" if _wants_csv(request) else "json")
    filename = f"reconciliation-{report.provider}-{report.start:%Y%m%dT%H%M%SZ}-{report.end:%Y%m%dT%H%M%SZ}.{chosen}"
    return Stream(
        reconciliation_report.chunks(report, chosen),
        media_type=reconciliation_report.MEDIA_TYPES[chosen],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
