"""Operator input -> commands, results -> JSON, with one cattrs converter.

Input is a JSON object or ``--field VALUE`` flags. Structuring is strict: unknown keys,
floats for integers and numbers for text are refused, and Money is never a float (it
is ``{"minor": 1050, "currency": "EUR"}`` or the exact decimal text ``"10.50 EUR"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import attrs
import cattrs
from cattrs.preconf.json import make_converter

from core.shared.actor import Actor, Persona
from core.shared.errors import DomainError, InvalidInput
from core.shared.money import Currency, Money
from entrypoints.cli.runnable import ENVELOPE, Runnable, accepts_text, flag

_MONEY_FORMS = 'write money as "10.50 EUR" or {"minor": 1050, "currency": "EUR"}'


@cache
def converter() -> cattrs.Converter:
    conv = make_converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _text)
    conv.register_structure_hook(int, _integer)
    conv.register_structure_hook(bool, _boolean)
    conv.register_structure_hook(Currency, _currency)
    conv.register_structure_hook(Money, _money)
    conv.register_structure_hook_func(lambda tp: tp == frozenset[Persona], _personas)
    conv.register_structure_hook(Actor, _actor)
    conv.register_unstructure_hook(Currency, lambda c: c.code)
    conv.register_unstructure_hook(Money, lambda m: {"minor": m.minor, "currency": m.currency.code})
    return conv


def parse_json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "--json", f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput("--json", "must be a JSON object of the use case's fields")
    return value


def parse_flags(runnable: Runnable, args: Sequence[str]) -> dict[str, Any]:
    """``--owner-id usr_1 --amount "10.50 EUR"`` (or ``--owner-id=usr_1``) -> a dict.

    A value is parsed as JSON when it parses, else taken as text; text fields keep the
    text as typed (``--memo 123`` is ``"123"``)."""
    types = {f.name: f.type for f in runnable.fields()}
    out: dict[str, Any] = {}
    rest = list(args)
    while rest:
        token = rest.pop(0)
        if not token.startswith("--") or token == "--":
            raise InvalidInput(token, f"unexpected argument; give fields as --name VALUE ({_fields_hint(runnable)})")
        name, has_value, value = token[2:].partition("=")
        key = name.replace("-", "_")
        if not has_value:
            if not rest:
                raise InvalidInput(token, "needs a value")
            value = rest.pop(0)
        _check_key(runnable, key, shown=f"--{name}")
        if key in out:
            raise InvalidInput(f"--{name}", "given twice")
        out[key] = _flag_value(value, types[key])
    return out


def check_keys(runnable: Runnable, payload: Mapping[str, Any]) -> None:
    for key in payload:
        _check_key(runnable, key, shown=key)


def build_command(runnable: Runnable, payload: Mapping[str, Any], envelope: Mapping[str, Any]) -> Any:
    """Structure ``payload`` plus the CLI-filled envelope into the runnable's command.

    Raises:
        InvalidInput: a key is unknown or reserved, or a value has the wrong shape.
        DomainError: a value object refused the value (an unknown currency code, say).
    """
    check_keys(runnable, payload)
    names = {f.name for f in attrs.fields(runnable.command)}
    data = {**payload, **{k: v for k, v in envelope.items() if k in names}}
    try:
        return converter().structure(data, runnable.command)
    except Exception as error:
        domain = _first_domain_error(error)
        if domain is not None:
            raise domain from None
        if isinstance(error, cattrs.BaseValidationError):
            problems = cattrs.transform_error(error, path="", format_exception=_problem)
            raise InvalidInput(runnable.name, "; ".join(_field_first(p) for p in problems)) from None
        raise


def to_json(result: object) -> str:
    return json.dumps(converter().unstructure(result), indent=2, ensure_ascii=False)


def _check_key(runnable: Runnable, key: str, *, shown: str) -> None:
    if key in ENVELOPE:
        raise InvalidInput(shown, "is filled by the CLI (the operator from --as, the key from --idempotency-key)")
    if key not in {f.name for f in runnable.fields()}:
        raise InvalidInput(shown, f"{runnable.name} has no such field ({_fields_hint(runnable)})")


def _fields_hint(runnable: Runnable) -> str:
    names = [flag(f.name) for f in runnable.fields()]
    return "its fields: " + ", ".join(names) if names else "it takes no fields"


def _flag_value(raw: str, tp: Any) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    if accepts_text(tp) and value is not None and not isinstance(value, str):
        return raw
    return value


def _problem(error: BaseException, tp: type | None) -> str:
    if isinstance(error, ValueError) and str(error):  # our strict hooks say what they expected
        return str(error)
    return cattrs.v.format_exception(error, tp)


def _field_first(problem: str) -> str:
    """cattrs' ``"required field missing @ .wallet_id"`` -> ``"wallet_id: required field missing"``."""
    message, sep, path = problem.rpartition(" @ ")
    return f"{path.lstrip('.') or 'input'}: {message}" if sep else problem


def _first_domain_error(error: BaseException) -> DomainError | None:
    if isinstance(error, DomainError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = _first_domain_error(inner)
            if found is not None:
                return found
    return None


def _text(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value


def _integer(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _boolean(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {type(value).__name__}")
    return value


def _currency(value: Any, _: Any) -> Currency:
    return value if isinstance(value, Currency) else Currency(value)


def _money(value: Any, _: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, str):
        amount, _sep, code = value.strip().rpartition(" ")
        if not amount.strip():
            raise InvalidInput("amount", f"{value!r} names no currency; {_MONEY_FORMS}")
        return Money.parse_decimal(amount, Currency(code))
    if isinstance(value, dict) and set(value) == {"minor", "currency"}:
        return Money(value["minor"], Currency(value["currency"]))
    raise InvalidInput("amount", _MONEY_FORMS)


def _personas(value: Any, _: Any) -> frozenset[Persona]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise InvalidInput("personas", "a persona or a list of personas")
    known = ", ".join(p.value for p in Persona)
    try:
        return frozenset(Persona(item) for item in items)
    except ValueError:
        raise InvalidInput("personas", f"each persona is one of {known}") from None


def _actor(value: Any, _: Any) -> Actor:
    if not isinstance(value, Actor):  # never from input: ENVELOPE keys are refused before
        raise TypeError("the actor is filled by the CLI")
    return value
