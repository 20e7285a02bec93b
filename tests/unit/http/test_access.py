"""Who may call what: bearer authentication, personas, and wallets that are not yours."""

from __future__ import annotations

from typing import Any

import pytest

from core.identity.use_cases.revoke_api_token import RevokeApiTokenCommand
from core.shared.actor import Persona
from core.shared.ids import TokenId, correlation_id, idempotency_key
from tests.unit.http.conftest import SYSTEM, Api, assert_problem, new_key

ROUTES = [
    ("GET", "/v1/me"),
    ("GET", "/v1/wallets"),
    ("POST", "/v1/wallets"),
    ("GET", "/v1/wallets/wal_x/balance"),
    ("GET", "/v1/wallets/wal_x/statement"),
    ("POST", "/v1/wallets/wal_x/deposits"),
    ("POST", "/v1/transfers"),
    ("POST", "/v1/snapshots"),
    ("GET", "/v1/exports/journal"),
]


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> Any:
    return api.client.request(method, path, headers={**headers, "Idempotency-Key": new_key()}, json={})


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_v1_route_needs_a_bearer_token(api: Api, method: str, path: str) -> None:
    answer = _call(api, method, path, {})

    assert_problem(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == 'Bearer realm="gigcore"'


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer gct_not-a-real-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "gct_without_scheme",
        "Bearer a b",
        "Bearer " + "x" * 300,
    ],
)
def test_an_unknown_or_malformed_token_is_refused_alike(api: Api, authorization: str) -> None:
    answer = _call(api, "GET", "/v1/me", {"Authorization": authorization})

    body = assert_problem(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert body["detail"] == "the bearer token is missing, unknown, expired or revoked"


def test_a_revoked_token_is_refused(api: Api) -> None:
    alice = api.user("alice")
    token_id = _only_token_id(api)
    api.runtime.use_cases.revoke_api_token()(
        RevokeApiTokenCommand(
            by=SYSTEM,
            idempotency_key=idempotency_key(new_key()),
            correlation_id=correlation_id(None),
            token_id=token_id,
        )
    )

    assert_problem(api.get("/v1/me", alice), 401, "unauthenticated")


def _only_token_id(api: Api) -> TokenId:
    uow = api.runtime.new_unit_of_work()
    with uow:
        (token_id,) = uow.store.tokens
    return TokenId(token_id)


def test_the_bearer_scheme_name_is_case_insensitive(api: Api) -> None:
    alice = api.user("alice")
    lower = {"Authorization": alice["Authorization"].replace("Bearer", "bearer")}

    assert api.get("/v1/me", lower).status_code == 200


@pytest.mark.parametrize(
    ("persona", "method", "path", "body"),
    [
        (Persona.CLIENT, "POST", "/v1/snapshots", None),
        (Persona.SUPPORT, "POST", "/v1/snapshots", None),
        (
            Persona.FINANCE,
            "POST",
            "/v1/transfers",
            {"from_wallet_id": "a", "to_wallet_id": "b", "amount": {"minor": 1, "currency": "EUR"}},
        ),
        (Persona.FINANCE, "POST", "/v1/wallets", {"currency": "EUR"}),
    ],
)
def test_a_persona_without_the_permission_is_forbidden(
    api: Api, persona: Persona, method: str, path: str, body: object
) -> None:
    someone = api.user("someone", persona)

    answer = api.client.request(method, path, json=body, headers={**someone, "Idempotency-Key": new_key()})

    assert_problem(answer, 403, "forbidden")


def test_a_user_may_not_list_someone_elses_wallets(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    bob_id = api.get("/v1/me", bob).json()["id"]

    assert_problem(api.get("/v1/wallets", alice, params={"owner_id": bob_id}), 403, "forbidden")


def test_a_user_may_not_open_a_wallet_for_someone_else(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    bob_id = api.get("/v1/me", bob).json()["id"]

    assert_problem(api.post("/v1/wallets", alice, {"currency": "EUR", "owner_id": bob_id}), 403, "forbidden")


def _comparable(answer: Any, wallet_id: str) -> tuple[int, dict[str, Any]]:
    body = {k: v for k, v in answer.json().items() if k not in {"correlation_id", "instance"}}
    return answer.status_code, {k: (v.replace(wallet_id, "<id>") if isinstance(v, str) else v) for k, v in body.items()}


@pytest.mark.parametrize("route", ["balance", "statement", "deposits"])
def test_someone_elses_wallet_looks_exactly_like_a_missing_one(api: Api, route: str) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    bobs = api.wallet(bob)
    missing = "wal_" + "0" * 32

    def ask(wallet_id: str) -> Any:
        if route == "deposits":
            return api.post(f"/v1/wallets/{wallet_id}/deposits", alice, {"amount": {"minor": 1, "currency": "EUR"}})
        return api.get(f"/v1/wallets/{wallet_id}/{route}", alice)

    foreign, absent = ask(bobs), ask(missing)

    assert_problem(foreign, 404, "wallet_not_found")
    assert _comparable(foreign, bobs) == _comparable(absent, missing)


def test_a_transfer_from_someone_elses_wallet_is_not_found(api: Api) -> None:
    alice, bob = api.user("alice"), api.user("bob")
    bobs, alices = api.wallet(bob), api.wallet(alice)
    api.deposit(bob, bobs, 500)

    answer = api.post(
        "/v1/transfers",
        alice,
        {"from_wallet_id": bobs, "to_wallet_id": alices, "amount": {"minor": 100, "currency": "EUR"}},
    )

    assert_problem(answer, 404, "wallet_not_found")
    assert api.get(f"/v1/wallets/{bobs}/balance", bob).json()["available"]["minor"] == 500


def test_health_and_the_schema_need_no_token(api: Api) -> None:
    assert api.client.get("/health/live").status_code == 200
    assert api.client.get("/health/ready").status_code == 200
    assert api.client.get("/schema/openapi.json").status_code == 200
