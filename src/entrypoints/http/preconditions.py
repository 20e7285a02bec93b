"""What a request must satisfy before any use case runs: no NUL character anywhere (a
PostgreSQL text value cannot hold one, so it could only fail later, as a 500); and for a
POST (and PUT), an Idempotency-Key header and a body that fits the route's schema exactly.

Litestar converts request data leniently (msgspec with ``strict=False``): it would take
``"1050"``, ``1050.0`` or ``1e3`` for an integer amount. Money must never be guessed, so
this hook first decodes the body strictly against the handler's own ``data`` annotation
and refuses unknown keys; Litestar's lenient pass then sees only bodies that are already
exact, and yields the same values.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import attrs
import msgspec
from litestar import Request

from core.shared.errors import InvalidInput
from core.shared.ids import IdempotencyKey, idempotency_key
from entrypoints.http.errors import HttpProblem
from entrypoints.http.schemas import FieldProblem

IDEMPOTENCY_HEADER = "Idempotency-Key"
NUL = "\x00"


def _refuse_nul(where: str) -> HttpProblem:
    return HttpProblem(
        status=400,
        code="malformed_request",
        title="The request does not fit the API's schema",
        detail="text may not contain NUL characters",
        errors=(FieldProblem(field=where, reason="contains a NUL character"),),
    )


def _nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_nul_in(k) or _nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_nul_in(v) for v in value)
    return False


def require_idempotency_key(raw: str | None) -> IdempotencyKey:
    """Raises HttpProblem 400 ``idempotency_key_required`` or ``idempotency_key_invalid``."""
    if raw is None or not raw.strip():
        raise HttpProblem(
            status=400,
            code="idempotency_key_required",
            title="An Idempotency-Key header is required",
            detail="send a unique Idempotency-Key (a UUID fits) with every POST; reuse it only to retry",
        )
    try:
        return idempotency_key(raw)
    except InvalidInput as error:
        raise HttpProblem(
            status=400,
            code="idempotency_key_invalid",
            title="The Idempotency-Key header is malformed",
            detail=error.reason,
        ) from None


def _attrs_class_in(annotation: Any) -> type | None:
    """The attrs class an annotation names, directly or as ``X | None``."""
    if isinstance(annotation, type) and attrs.has(annotation):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and attrs.has(arg):
                return arg
    return None


def _attrs_items_in(annotation: Any) -> type | None:
    """The attrs class of a sequence's items (``tuple[X, ...]``, ``list[X]``)."""
    if typing.get_origin(annotation) in (tuple, list):
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        if len(args) == 1:
            return _attrs_class_in(args[0])
    return None


def _unknown_keys(value: Any, schema: type, path: str) -> list[FieldProblem]:
    if not isinstance(value, dict):
        return []  # the strict conversion reports the wrong type
    hints = typing.get_type_hints(schema)
    known = {f.name for f in attrs.fields(schema)}
    found = [FieldProblem(field=f"{path}{key}", reason="unknown field") for key in value if key not in known]
    for name in sorted(known & value.keys()):
        nested = _attrs_class_in(hints.get(name))
        if nested is not None:
            found += _unknown_keys(value[name], nested, f"{path}{name}.")
        items = _attrs_items_in(hints.get(name))
        if items is not None and isinstance(value[name], list):
            for index, item in enumerate(value[name]):
                found += _unknown_keys(item, items, f"{path}{name}[{index}].")
    return found


def _validation_error(error: msgspec.ValidationError) -> FieldProblem:
    # msgspec says e.g. "Expected `int`, got `float` - at `$.amount.minor`".
    reason, _, where = str(error).partition(" - at `")
    field = where.rstrip("`").removeprefix("$").removeprefix(".") or "(body)"
    return FieldProblem(field=field, reason=reason)


def decode_strictly(raw: bytes, schema: Any) -> Any:
    """Decode a JSON body into ``schema`` with no coercion at all.

    Raises:
        HttpProblem: 400 ``malformed_json`` if the body is not JSON (or not UTF-8); 400
            ``malformed_request`` for a wrong type, a missing field or an unknown field.
    """
    try:
        value = msgspec.json.decode(raw)
    except (ValueError, RecursionError):
        # ValueError covers msgspec.DecodeError and the UnicodeDecodeError msgspec raises
        # for a string holding invalid UTF-8.
        raise HttpProblem(
            status=400,
            code="malformed_json",
            title="The request body is not valid JSON",
            detail="send a JSON object with Content-Type: application/json",
        ) from None
    if _nul_in(value):
        raise _refuse_nul("(body)")
    target = _attrs_class_in(schema)
    unknown = _unknown_keys(value, target, "") if target is not None else []
    if unknown:
        raise HttpProblem(
            status=400,
            code="malformed_request",
            title="The request does not fit the API's schema",
            detail="the body has fields this endpoint does not know",
            errors=tuple(unknown),
        )
    try:
        return msgspec.convert(value, schema, strict=True)
    except msgspec.ValidationError as error:
        raise HttpProblem(
            status=400,
            code="malformed_request",
            title="The request does not fit the API's schema",
            detail="a field is missing or of the wrong type; amounts are integers of minor units",
            errors=(_validation_error(error),),
        ) from None


async def check_preconditions(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook of the /v1 router. For every request: no NUL in the path or
    the query. For a POST or PUT: the Idempotency-Key first, then the body, decoded
    strictly (unknown fields refused; reading it enforces the body size limit: 413)."""
    if NUL in request.scope.get("path", ""):
        raise _refuse_nul("(path)")
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            raise _refuse_nul(f"query.{name.replace(NUL, '')}")
    if request.method not in ("POST", "PUT"):
        return
    require_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is not None:
        decode_strictly(await request.body(), data.annotation)
