"""Whatever a client sends, the answer is never a 500: garbage is a 4xx problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.shared.actor import Persona
from entrypoints.container import build_in_memory
from tests.unit.http.conftest import Api, assert_problem, new_key, serve

BODY_POSTS = ["/v1/wallets", "/v1/wallets/{wallet}/deposits", "/v1/transfers"]
POSTS = [*BODY_POSTS, "/v1/snapshots"]
GETS = [
    "/v1/wallets",
    "/v1/wallets/{wallet}/balance",
    "/v1/wallets/{wallet}/statement",
    "/v1/me",
    "/health/live",
    "/health/ready",
]

# Well-formed JSON but for strings that are not UTF-8 (msgspec raises UnicodeDecodeError).
INVALID_UTF8: list[bytes] = [
    b'{"currency":"\xff\xfe"}',
    b'{"\xff":1}',
    b'{"currency":"\xc3"}',  # a truncated two-byte sequence
    b'{"currency":"\xed\xa0\x80"}',  # a UTF-8-encoded surrogate
    b'{"amount": {"minor": 1, "currency": "EU\x80"}, "memo": "\xc0\xaf"}',  # overlong
]

GARBAGE_BODIES: list[bytes] = [
    b"",
    b"null",
    b"[]",
    b"{}",
    b"0",
    b'"text"',
    b"{",
    b"}{",
    b"\x00\x01\x02",
    b"\xff" * 100,
    b"[" * 20_000,
    b'{"a":' * 5_000,
    b'{"currency": "EUR", "currency": "GBP"}',
    b'{"amount": {"minor": 1e999, "currency": "EUR"}}',
    b'{"amount": {"minor": 123456789012345678901234567890, "currency": "EUR"}}',
    b'{"amount": {"minor": -0, "currency": "EUR"}}',
    b'{"amount": {"minor": 1, "currency": "\\u0000\\u0000\\u0000"}}',
    b'{"amount": null}',
    b'{"amount": "10.50 EUR"}',
    b'{"from_wallet_id": 1, "to_wallet_id": [], "amount": {}}',
    b'{"from_wallet_id": "\\ud800", "to_wallet_id": "x", "amount": {"minor": 1, "currency": "EUR"}}',
    json.dumps({"currency": "EUR", "owner_id": "usr_" + "x" * 5000}).encode(),
    json.dumps({"memo": "\u202e\U0001f4b8" * 100, "amount": {"minor": 5, "currency": "EUR"}}).encode(),
    *INVALID_UTF8,
]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Api, dict[str, str], str]]:
    with serve(build_in_memory()) as api:
        alice = api.user("alice", Persona.CLIENT)
        wallet = api.wallet(alice)
        api.deposit(alice, wallet, 10_000)
        yield api, alice, wallet


@pytest.fixture(scope="module")
def finance(world: tuple[Api, dict[str, str], str]) -> dict[str, str]:
    """A caller allowed to POST /v1/snapshots, so a body sent there gets past the guard."""
    return world[0].user("fiona", Persona.FINANCE)


def _caller(path: str, alice: dict[str, str], finance: dict[str, str]) -> dict[str, str]:
    return finance if path == "/v1/snapshots" else alice


def _assert_handled(answer: Any) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"].startswith("application/problem+json"), answer.text


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", GARBAGE_BODIES, ids=range(len(GARBAGE_BODIES)))
def test_garbage_bodies_are_refused_cleanly(
    world: tuple[Api, dict[str, str], str], finance: dict[str, str], path: str, body: bytes
) -> None:
    api, alice, wallet = world

    answer = api.post(
        path.format(wallet=wallet),
        _caller(path, alice, finance),
        content=body,
        headers={"Content-Type": "application/json"},
    )

    _assert_handled(answer)


@pytest.mark.parametrize("path", BODY_POSTS)
@pytest.mark.parametrize("body", INVALID_UTF8, ids=range(len(INVALID_UTF8)))
def test_invalid_utf8_in_a_json_body_is_malformed_json(
    world: tuple[Api, dict[str, str], str], path: str, body: bytes
) -> None:
    api, alice, wallet = world

    answer = api.post(path.format(wallet=wallet), alice, content=body, headers={"Content-Type": "application/json"})

    assert_problem(answer, 400, "malformed_json")


@pytest.mark.parametrize("path", POSTS + GETS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer \t"},
        {"Authorization": "Bearer " + "a" * 8000},
        {"Authorization": "🙂".encode()},
        {"Idempotency-Key": "x" * 8000},
        {"Idempotency-Key": b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"},
        {"Content-Length": "abc"},
        {"Content-Type": "text/plain"},
        {"X-Request-ID": "\x7f" * 10},
    ],
    ids=range(9),
)
def test_odd_headers_are_refused_cleanly(
    world: tuple[Api, dict[str, str], str], path: str, headers: dict[str, Any]
) -> None:
    api, alice, wallet = world
    merged = {**alice, "Idempotency-Key": new_key(), **headers}
    method = "POST" if path in POSTS else "GET"

    answer = api.client.request(method, path.format(wallet=wallet), headers=merged, content=b'{"currency": "EUR"}')

    _assert_handled(answer)


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=99999999999999999999999",
        "limit=1e2",
        "limit=0x10",
        "limit=%00",
        "limit=1&limit=2",
        "cursor=%ff%fe",
        "cursor=s99999999999999999999",
        "cursor=s%C2%B2",  # superscript two: a digit to str.isdigit, not to int()
        "cursor=s%D9%A1%D9%A2",  # Arabic-Indic one, two
        "cursor=s%EF%BC%91",  # fullwidth one
        "cursor=s-1",
        "cursor=s+1",
        "cursor=s%201",
        "cursor=s1_000",
        "cursor=" + "s" * 5000,
        "owner_id=" + "%00" * 10,
        "owner_id=usr_nobody",
    ],
)
@pytest.mark.parametrize("path", ["/v1/wallets", "/v1/wallets/{wallet}/statement"])
def test_odd_query_strings_are_refused_cleanly(world: tuple[Api, dict[str, str], str], path: str, query: str) -> None:
    api, alice, wallet = world

    _assert_handled(api.get(path.format(wallet=wallet) + "?" + query, alice))


@pytest.mark.parametrize(
    "wallet_id", ["%00", "..", "wal_" + "x" * 3000, "%F0%9F%92%B8", "'; drop table accounts; --", "%2F%2E%2E"]
)
@pytest.mark.parametrize("route", ["balance", "statement"])
def test_odd_wallet_ids_are_refused_cleanly(world: tuple[Api, dict[str, str], str], wallet_id: str, route: str) -> None:
    api, alice, _ = world

    _assert_handled(api.get(f"/v1/wallets/{wallet_id}/{route}", alice))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_shaped = st.fixed_dictionaries(
    {},
    optional={
        "currency": _json | st.sampled_from(["EUR", "GBP", "JPY", "XXX"]),
        "owner_id": _json,
        "from_wallet_id": _json,
        "to_wallet_id": _json,
        "memo": _json,
        "amount": _json | st.fixed_dictionaries({"minor": _json, "currency": _json}),
    },
)


# The module-scoped world is shared by every example on purpose: only the status matters.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(POSTS), body=_json | _shaped)
def test_generated_json_bodies_never_cause_a_500(world: tuple[Api, dict[str, str], str], path: str, body: Any) -> None:
    api, alice, wallet = world

    _assert_handled(api.post(path.format(wallet=wallet), alice, body))
