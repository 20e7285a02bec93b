"""Every error answered as RFC 9457 ``application/problem+json``, mapped in one place.

Domain errors map by ``DomainError.category`` only (core/shared/errors.py); Litestar's own
HTTP exceptions (unknown route, wrong method, body too large, parameter validation) and
the HTTP layer's ``HttpProblem`` get the same body shape; anything else is a 500 that is
logged in full and answered with nothing but its correlation id.

Status policy: 400 when the request does not fit the documented schema (malformed JSON,
a wrong type, an unknown or missing field, a parameter outside its documented bounds, a
missing or malformed Idempotency-Key); 422 when it fits the schema but the domain refuses
a value or a rule (unknown currency, non-positive amount, insufficient funds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from core.shared.errors import DomainError, ErrorCategory, InvalidInput
from entrypoints.http.request_context import correlation_of
from entrypoints.http.schemas import FieldProblem, Problem

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:gigcore:problem:"
WWW_AUTHENTICATE = 'Bearer realm="gigcore"'

STATUS_BY_CATEGORY: Mapping[ErrorCategory, int] = {
    ErrorCategory.INVALID: 422,
    ErrorCategory.RULE: 422,
    ErrorCategory.NOT_FOUND: 404,
    ErrorCategory.CONFLICT: 409,
    ErrorCategory.FORBIDDEN: 403,
    ErrorCategory.UNAUTHENTICATED: 401,
    ErrorCategory.UNAVAILABLE: 503,
}

_log = structlog.get_logger("gigcore.http")


@attrs.define(frozen=True, auto_exc=True, kw_only=True)
class HttpProblem(Exception):
    """A request refused by the HTTP layer itself, before any use case ran."""

    status: int
    code: str
    title: str
    detail: str
    errors: tuple[FieldProblem, ...] = ()

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.scope.get("path", ""),
        "correlation_id": correlation_of(request.scope),
    }
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def domain_error_to_problem(request: Request[Any, Any, Any], error: DomainError) -> Response[dict[str, Any]]:
    status = STATUS_BY_CATEGORY.get(error.category, 422)
    headers: dict[str, str] = {}
    if error.category is ErrorCategory.UNAUTHENTICATED:
        # RFC 6750 section 3.1: say "invalid_token" only when a token was presented.
        presented = bool(request.headers.get("authorization"))
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE + (', error="invalid_token"' if presented else "")
    if error.category is ErrorCategory.UNAVAILABLE:
        _log.warning("dependency_unavailable", code=error.code, detail=error.detail)
    errors = (FieldProblem(field=error.field, reason=error.reason),) if isinstance(error, InvalidInput) else ()
    return problem_response(
        request, status=status, code=error.code, title=error.title, detail=error.detail, errors=errors, headers=headers
    )


def http_problem_to_problem(request: Request[Any, Any, Any], problem: HttpProblem) -> Response[dict[str, Any]]:
    return problem_response(
        request,
        status=problem.status,
        code=problem.code,
        title=problem.title,
        detail=problem.detail,
        errors=problem.errors,
    )


def _validation_errors(extra: object) -> tuple[FieldProblem, ...]:
    if not isinstance(extra, list):
        return ()
    found = []
    for item in extra:
        if isinstance(item, dict):
            where = getattr(item.get("source"), "value", item.get("source"))  # a ParamType, or absent
            key = str(item.get("key", ""))
            found.append(FieldProblem(field=f"{where}.{key}" if where else key, reason=str(item.get("message", ""))))
    return tuple(found)


def _http_exception_to_problem(
    max_body_bytes: int,
) -> Callable[[Request[Any, Any, Any], HTTPException], Response[dict[str, Any]]]:
    def http_exception_to_problem(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
        status = exc.status_code
        path = request.scope.get("path", "")
        method = request.scope.get("method", "")
        if isinstance(exc, ValidationException):
            return problem_response(
                request,
                status=400,
                code="malformed_request",
                title="The request does not fit the API's schema",
                detail="one or more parameters are missing, of the wrong type or out of bounds",
                errors=_validation_errors(exc.extra),
            )
        if status == 404:
            return problem_response(
                request, status=404, code="not_found", title="No such resource", detail=f"nothing is served at {path}"
            )
        if status == 405:
            allowed = sorted(m.strip() for m in (exc.headers or {}).get("allow", "").split(",") if m.strip())
            allow = {"Allow": ", ".join(allowed)} if allowed else None
            return problem_response(
                request,
                status=405,
                code="method_not_allowed",
                title="The method is not allowed on this resource",
                detail=f"{method} is not allowed on {path}",
                headers=allow,
            )
        if status == 413:
            return problem_response(
                request,
                status=413,
                code="body_too_large",
                title="The request body is too large",
                detail=f"the body may be at most {max_body_bytes} bytes",
            )
        if status == 400:
            return problem_response(
                request,
                status=400,
                code="malformed_request",
                title="The request does not fit the API's schema",
                detail=exc.detail,
            )
        if 400 <= status < 500:
            return problem_response(
                request, status=status, code="client_error", title="The request was refused", detail=exc.detail
            )
        if status == 503:
            return problem_response(
                request,
                status=503,
                code="unavailable",
                title="The service is unavailable",
                detail="retry later, with the same Idempotency-Key",
            )
        return unexpected_error_to_problem(request, exc)

    return http_exception_to_problem


def unexpected_error_to_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.error(
        "unhandled_error",
        method=request.scope.get("method", ""),
        path=request.scope.get("path", ""),
        error_type=type(exc).__name__,
        exc_info=exc,
    )
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="the request failed unexpectedly; quote the correlation_id when you report it",
    )


def exception_handlers(*, max_body_bytes: int) -> ExceptionHandlersMap:
    """The app-level table. App level, because Litestar raises router 404/405 outside any
    route, where only app-level handlers apply."""
    return {
        DomainError: domain_error_to_problem,
        HttpProblem: http_problem_to_problem,
        HTTPException: _http_exception_to_problem(max_body_bytes),
        Exception: unexpected_error_to_problem,
    }


_DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed JSON, a body or parameter that does not fit the schema, "
    "or a missing or malformed Idempotency-Key (codes malformed_json, malformed_request, "
    "idempotency_key_required, idempotency_key_invalid)",
    401: "The bearer token is missing, unknown, expired or revoked (code unauthenticated)",
    403: "The actor's personas do not allow this action (code forbidden)",
    404: "No such wallet, user, contract, milestone or payout; one that is not yours to see is reported the same way",
    409: "The Idempotency-Key was used for a different request, a step the current state does not allow "
    "(illegal_transition, nothing changed), or a concurrent change",
    413: "The request body is larger than the configured limit (code body_too_large)",
    422: "A value or a rule the domain refuses: unknown currency (invalid_input), "
    "non-positive amount, insufficient funds, currency mismatch, an amount above what a milestone holds, "
    "a dispute settlement that does not add up to it",
    503: "A dependency is unavailable; retry with the same Idempotency-Key",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI declarations of the problem responses a route can give."""
    return {
        status: ResponseSpec(
            data_container=Problem, media_type=PROBLEM_JSON, description=_DESCRIPTIONS[status], generate_examples=False
        )
        for status in statuses
    }
