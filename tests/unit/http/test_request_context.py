"""Correlation ids from X-Request-ID to the audit trail, and one access-log line per request."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from tests.unit.http.conftest import Api, assert_problem


def test_a_safe_request_id_is_echoed_and_put_in_problem_bodies(api: Api) -> None:
    answer = api.client.get("/v1/me", headers={"X-Request-ID": "req-123.abc:XYZ"})

    body = assert_problem(answer, 401, "unauthenticated")
    assert answer.headers["x-request-id"] == "req-123.abc:XYZ"
    assert body["correlation_id"] == "req-123.abc:XYZ"


@pytest.mark.parametrize("unsafe", ["has spaces", "x" * 129, "new\\nline", "<script>", ""])
def test_an_unsafe_request_id_is_replaced_by_a_fresh_one(api: Api, unsafe: str) -> None:
    answer = api.client.get("/health/live", headers={"X-Request-ID": unsafe})

    assert answer.headers["x-request-id"] not in {unsafe, ""}
    assert len(answer.headers["x-request-id"]) == 32


def test_every_response_carries_a_request_id_even_for_unknown_routes(api: Api) -> None:
    for answer in (api.client.get("/health/live"), api.client.get("/nowhere"), api.client.put("/v1/me")):
        assert answer.headers["x-request-id"]

    first, second = api.client.get("/health/live"), api.client.get("/health/live")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_the_request_id_reaches_the_commands_audit_record(api: Api) -> None:
    alice = api.user("alice")

    opened = api.post("/v1/wallets", alice, {"currency": "EUR"}, headers={"X-Request-ID": "trace-wallet-1"})

    assert opened.status_code == 201
    with api.runtime.new_unit_of_work() as uow:
        records = [r.draft for chain in uow.store.audit.values() for r in chain]
    opening = [d for d in records if d.action == "ledger.wallet.open"]
    assert [d.correlation_id for d in opening] == ["trace-wallet-1"]


def test_each_request_writes_one_access_log_line_without_the_token(api: Api) -> None:
    alice = api.user("alice")
    token = alice["Authorization"].removeprefix("Bearer ")

    with capture_logs() as logs:
        answer = api.get("/v1/me", alice, headers={"X-Request-ID": "trace-me"}, params={"q": token})

    lines = [e for e in logs if e["event"] == "http_request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET"
    assert line["path"] == "/v1/me"
    assert line["status"] == answer.status_code == 200
    assert line["correlation_id"] == "trace-me"
    assert line["actor"] == "user:" + answer.json()["id"]
    assert isinstance(line["duration_ms"], float)
    assert token not in repr(logs)


def test_an_unauthenticated_request_is_logged_without_an_actor(api: Api) -> None:
    with capture_logs() as logs:
        api.client.get("/v1/me", headers={"Authorization": "Bearer gct_wrong"})

    (line,) = [e for e in logs if e["event"] == "http_request"]
    assert (line["status"], line["actor"]) == (401, None)
    assert "gct_wrong" not in repr(logs)
