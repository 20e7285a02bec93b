"""Every refusal is an RFC 9457 problem with a stable code; bad input is never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from dependency_injector import providers

from core.ledger.domain import WalletNotFound
from core.ledger.use_cases.list_wallets import ListWallets, ListWalletsQuery, WalletList
from core.shared.authorization import Forbidden, Unauthenticated
from core.shared.errors import ConcurrentUpdate, DependencyUnavailable, DomainError, InvalidInput
from core.shared.money import CurrencyMismatch
from entrypoints.container import build_in_memory
from tests.unit.http.conftest import Api, assert_problem, serve


@pytest.fixture
def alice(api: Api) -> dict[str, str]:
    return api.user("alice")


@pytest.fixture
def wallet(api: Api, alice: dict[str, str]) -> str:
    return api.wallet(alice)


def _deposit_raw(api: Api, auth: dict[str, str], wallet: str, content: bytes) -> Any:
    return api.post(
        f"/v1/wallets/{wallet}/deposits", auth, content=content, headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize("content", [b"{bad", b"", b"{'minor': 1}", b"\xff\xfe", b"[" * 50_000, b"NaN"])
def test_a_body_that_is_not_json_is_malformed_json(
    api: Api, alice: dict[str, str], wallet: str, content: bytes
) -> None:
    assert_problem(_deposit_raw(api, alice, wallet, content), 400, "malformed_json")


@pytest.mark.parametrize("minor", [10.0, 10.5, 1e3, "1050", True, None, [1050], {"v": 1}])
def test_an_amount_that_is_not_an_integer_is_refused_never_rounded(
    api: Api, alice: dict[str, str], wallet: str, minor: object
) -> None:
    answer = api.post(f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": minor, "currency": "EUR"}})

    body = assert_problem(answer, 400, "malformed_request")
    assert body["errors"][0]["field"] == "amount.minor"
    assert api.get(f"/v1/wallets/{wallet}/balance", alice).json()["available"]["minor"] == 0


def test_a_transfer_amount_as_a_float_is_refused(api: Api, alice: dict[str, str], wallet: str) -> None:
    body = {"from_wallet_id": wallet, "to_wallet_id": wallet, "amount": {"minor": 1.0, "currency": "EUR"}}

    assert_problem(api.post("/v1/transfers", alice, body), 400, "malformed_request")


@pytest.mark.parametrize("currency", ["XYZ", "eur", "EURO", ""])
def test_an_unknown_currency_is_invalid_input(api: Api, alice: dict[str, str], currency: str) -> None:
    body = assert_problem(api.post("/v1/wallets", alice, {"currency": currency}), 422, "invalid_input")

    assert body["errors"] == [{"field": "currency", "reason": body["errors"][0]["reason"]}]


def test_an_unknown_currency_in_an_amount_is_invalid_input(api: Api, alice: dict[str, str], wallet: str) -> None:
    answer = api.post(f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": 100, "currency": "XXX"}})

    assert_problem(answer, 422, "invalid_input")


@pytest.mark.parametrize("minor", [0, -5, 10**15 + 1])
def test_an_amount_the_domain_refuses_is_invalid_input(
    api: Api, alice: dict[str, str], wallet: str, minor: int
) -> None:
    answer = api.post(f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": minor, "currency": "EUR"}})

    assert_problem(answer, 422, "invalid_input")


def test_an_amount_in_another_currency_is_a_currency_mismatch(api: Api, alice: dict[str, str], wallet: str) -> None:
    answer = api.post(f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": 100, "currency": "GBP"}})

    assert_problem(answer, 422, "currency_mismatch")


@pytest.mark.parametrize(
    "body",
    [
        {"currency": "EUR", "owner": "usr_x"},
        {"currency": "EUR", "extra": {"nested": True}},
        [],
        {},
        "EUR",
        {"currency": 978},
        {"currency": None},
    ],
)
def test_a_body_that_does_not_fit_the_schema_is_malformed_request(
    api: Api, alice: dict[str, str], body: object
) -> None:
    assert_problem(api.post("/v1/wallets", alice, body), 400, "malformed_request")


def test_an_unknown_nested_field_is_named(api: Api, alice: dict[str, str], wallet: str) -> None:
    answer = api.post(
        f"/v1/wallets/{wallet}/deposits", alice, {"amount": {"minor": 1, "currency": "EUR", "major": "0.01"}}
    )

    body = assert_problem(answer, 400, "malformed_request")
    assert body["errors"] == [{"field": "amount.major", "reason": "unknown field"}]


def test_a_body_over_the_limit_is_too_large(api: Api, alice: dict[str, str]) -> None:
    limit = api.runtime.settings.max_body_bytes
    padding = "x" * limit

    answer = api.post("/v1/wallets", alice, {"currency": "EUR", "owner_id": padding})

    assert_problem(answer, 413, "body_too_large")


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", ""])
def test_a_limit_outside_1_to_200_is_malformed_request(
    api: Api, alice: dict[str, str], wallet: str, limit: str
) -> None:
    answer = api.get(f"/v1/wallets/{wallet}/statement", alice, params={"limit": limit})

    body = assert_problem(answer, 400, "malformed_request")
    assert body["errors"][0]["field"] == "query.limit"


@pytest.mark.parametrize("limit", ["1", "200"])
def test_the_limit_bounds_are_inclusive(api: Api, alice: dict[str, str], wallet: str, limit: str) -> None:
    assert api.get(f"/v1/wallets/{wallet}/statement", alice, params={"limit": limit}).status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "s", "s-1", "s" + "9" * 30])
def test_a_cursor_we_did_not_issue_is_invalid_input(api: Api, alice: dict[str, str], wallet: str, cursor: str) -> None:
    answer = api.get(f"/v1/wallets/{wallet}/statement", alice, params={"cursor": cursor})

    assert_problem(answer, 422, "invalid_input")


def test_an_unknown_route_is_not_found(api: Api) -> None:
    assert_problem(api.client.get("/v2/wallets"), 404, "not_found")


def test_a_wrong_method_is_not_allowed_and_says_what_is(api: Api) -> None:
    answer = api.client.delete("/v1/transfers")

    assert_problem(answer, 405, "method_not_allowed")
    assert "POST" in answer.headers["allow"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("owner_id", "bad"), 422),
        (CurrencyMismatch("EUR", "GBP"), 422),
        (WalletNotFound("wal_x"), 404),
        (ConcurrentUpdate("account wal_x"), 409),
        (Forbidden("ledger.wallet.read_any"), 403),
        (Unauthenticated("no"), 401),
        (DependencyUnavailable("database"), 503),
    ],
)
def test_domain_errors_map_by_category(error: DomainError, status: int) -> None:
    runtime = build_in_memory()
    runtime.use_cases.list_wallets.override(providers.Object(_Failing(error)))
    with serve(runtime) as api:
        answer = api.get("/v1/wallets", api.user("alice"))

    body = assert_problem(answer, status, error.code)
    assert (body["title"], body["detail"]) == (error.title, error.detail)
    assert body["type"].endswith(error.code)


def test_an_unexpected_error_is_a_500_that_leaks_nothing() -> None:
    runtime = build_in_memory()
    failing = _Failing(RuntimeError("password=hunter2 at /srv/secret.py line 42"))
    runtime.use_cases.list_wallets.override(providers.Object(failing))
    with serve(runtime) as api:
        answer = api.get("/v1/wallets", api.user("alice"))

    assert_problem(answer, 500, "internal_error")
    assert "hunter2" not in answer.text
    assert "RuntimeError" not in answer.text
    assert "secret.py" not in answer.text


class _Failing(ListWallets):
    """ListWallets that fails the way we tell it to (the HTTP layer checks the type)."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __call__(self, query: ListWalletsQuery) -> WalletList:
        raise self._error


def test_a_nul_character_in_a_path_is_refused(api: Api, alice: dict[str, str]) -> None:
    # PostgreSQL text cannot hold NUL: without this check the SQL adapter would fail with a 500.
    assert_problem(api.get("/v1/wallets/wal%00x/balance", alice), 400, "malformed_request")


def test_a_nul_character_in_a_query_is_refused(api: Api, alice: dict[str, str], wallet: str) -> None:
    answer = api.get(f"/v1/wallets/{wallet}/statement", alice, params={"cursor": "s1\x00"})

    body = assert_problem(answer, 400, "malformed_request")
    assert body["errors"] == [{"field": "query.cursor", "reason": "contains a NUL character"}]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": {"minor": 1, "currency": "EUR"}, "memo": "nul\x00memo"},
        {"amount": {"minor": 1, "currency": "EU\x00"}},
    ],
)
def test_a_nul_character_in_a_body_is_refused(api: Api, alice: dict[str, str], wallet: str, body: object) -> None:
    answer = api.post(f"/v1/wallets/{wallet}/deposits", alice, body)

    assert_problem(answer, 400, "malformed_request")
    assert api.get(f"/v1/wallets/{wallet}/balance", alice).json()["available"]["minor"] == 0
